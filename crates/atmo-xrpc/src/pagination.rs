//! Cursor pagination as a stream.

use std::collections::VecDeque;
use std::future::Future;

use futures_util::Stream;

use crate::error::Result;

/// One page of a cursor-paginated listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last page.
    pub cursor: Option<String>,
}

/// A stream of every item of a cursor-paginated listing: `fetch(None)` gives the first
/// page, `fetch(Some(cursor))` the next, until a page has no cursor, comes back empty,
/// or repeats the previous cursor. The first error ends the stream.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), atmo_xrpc::Error> {
/// use futures_util::TryStreamExt;
/// use atmo_xrpc::{Page, paginate};
///
/// let all: Vec<u32> = paginate(|cursor: Option<String>| async move {
///     let start: u32 = cursor.as_deref().unwrap_or("0").parse().unwrap_or(0);
///     let items: Vec<u32> = (start..(start + 3).min(7)).collect();
///     let next = start + 3;
///     Ok(Page { items, cursor: (next < 7).then(|| next.to_string()) })
/// })
/// .try_collect()
/// .await?;
/// assert_eq!(all, vec![0, 1, 2, 3, 4, 5, 6]);
/// # Ok(()) }
/// ```
pub fn paginate<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    struct State<T, F> {
        fetch: F,
        buffer: VecDeque<T>,
        /// `None` when there is no next page.
        next: Option<Option<String>>,
    }
    let state = State {
        fetch,
        buffer: VecDeque::new(),
        next: Some(None),
    };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.buffer.pop_front() {
                return Some((Ok(item), st));
            }
            let cursor = st.next.take()?;
            match (st.fetch)(cursor.clone()).await {
                Err(e) => return Some((Err(e), st)),
                Ok(page) => {
                    let repeated = page.cursor.is_some() && page.cursor == cursor;
                    if !page.items.is_empty() && !repeated {
                        st.next = page.cursor.map(Some);
                    }
                    st.buffer.extend(page.items);
                }
            }
        }
    })
}
