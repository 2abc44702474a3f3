//! loran-metrics: scores of generated text against references, and their
//! statistics over seeds. It knows nothing of models or tensors.
