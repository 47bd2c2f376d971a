//! Integration tests of roomsense-locate (one binary, STYLE R12).

// Evaluation on the calib2021 flat (needs shared/ beside the repository; skips without it).
mod calib2021;

// The steady-state update path does not allocate (a counting global allocator).
mod alloc;

// Replay of the real ESPresense-companion stationary capture (needs shared/; skips without it).
mod stationary;
