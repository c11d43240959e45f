//! Path to URL mapping.
