//! Loom models of the cancel token's protocol.
