//! atproto lexicons: the document model, runtime record validation, resolution, and the codegen library.
