//! doctor (todo)
