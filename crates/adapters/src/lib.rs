//! loran-adapters: low-rank adapters that wrap the named linears of a
//! `loran-model` network through its `LinearAdapter` seam.
//!
//! It depends on `loran-model` only; the runner builds on it. The methods
//! themselves arrive with the training issue (LoRA) and the LoRAN issue.
