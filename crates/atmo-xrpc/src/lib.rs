//! XRPC for atproto: a sans-IO core and a hyper + rustls transport, sessions, rate limits, blobs.
