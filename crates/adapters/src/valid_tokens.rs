//! Which positions of the current training batch are real tokens, shared by every
//! adapter of a set: right-padded batches carry pad positions that a causal model's
//! loss ignores but a forward still computes, and statistics that average over
//! positions (NA-LoRA's gate means) must leave them out.

use std::sync::{Arc, RwLock};

/// The row-major `[batch·seq]` validity of the batch being trained on (true: a real
/// token, false: padding), set by the trainer before each forward; `None` means every
/// position is real. Clones share the value, as [`crate::dropout::TrainingFlag`]'s do.
#[derive(Debug, Clone, Default)]
pub struct ValidTokens(Arc<RwLock<Option<Arc<[bool]>>>>);

impl ValidTokens {
    /// The current batch's validity (`None`: every position is real).
    pub fn get(&self) -> Option<Arc<[bool]>> {
        self.0.read().expect("valid-token lock poisoned").clone()
    }

    /// Sets the validity of the batch the next forwards see (`None`: all real).
    pub fn set(&self, valid: Option<Vec<bool>>) {
        *self.0.write().expect("valid-token lock poisoned") = valid.map(Arc::from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_value() {
        let a = ValidTokens::default();
        let b = a.clone();
        assert!(b.get().is_none());
        a.set(Some(vec![true, false, true]));
        assert_eq!(b.get().as_deref(), Some(&[true, false, true][..]));
        b.set(None);
        assert!(a.get().is_none());
    }
}
