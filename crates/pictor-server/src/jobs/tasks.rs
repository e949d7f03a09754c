//! The built-in Task resources (`pictor:*`).
