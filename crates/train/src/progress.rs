//! What a running cell reports as it goes, and who listens.
//!
//! The runner calls a [`CellProgress`]; the `loran` binary draws progress bars from it
//! on a terminal and prints plain lines otherwise. Any `FnMut(&str)` closure is a
//! [`CellProgress`] that receives the plain lines only.

use crate::record::StepRecord;

/// Receives the progress of one running cell.
pub trait CellProgress {
    /// A line of text worth keeping in a log (training starts, test loss, warnings).
    fn line(&mut self, text: &str);

    /// One optimizer step finished (`record.step` of `total_steps`). The default prints a
    /// line at the first step, every tenth and the last.
    fn step(&mut self, record: &StepRecord, total_steps: usize) {
        if record.step == 1 || record.step.is_multiple_of(10) || record.step == total_steps {
            self.line(&step_line(record, total_steps));
        }
    }

    /// The cell moved to a new stage without steps (`loading`, `test loss`, `eval 32/80`).
    /// The default ignores it.
    fn stage(&mut self, _stage: &str) {}
}

impl<F: FnMut(&str) + ?Sized> CellProgress for F {
    fn line(&mut self, text: &str) {
        self(text)
    }
}

/// Target tokens per second over the steps so far (0 before any time has passed).
pub fn tokens_per_second(tokens_so_far: u64, elapsed_s: f64) -> f64 {
    if elapsed_s > 0.0 {
        tokens_so_far as f64 / elapsed_s
    } else {
        0.0
    }
}

/// The plain log line of a step.
pub fn step_line(r: &StepRecord, total_steps: usize) -> String {
    format!("  step {:>4}/{}  loss {:.4}  lr {:.2e}  |g| {:.3}  {:.1}s", r.step, total_steps, r.loss, r.lr, r.grad_norm, r.elapsed_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(step: usize) -> StepRecord {
        StepRecord { step, loss: 1.5, lr: 1e-3, grad_norm: 0.25, tokens: 10, elapsed_s: step as f64, base_loss: None }
    }

    #[test]
    fn a_closure_gets_the_first_every_tenth_and_the_last_step() {
        let mut lines = Vec::new();
        let mut sink = |l: &str| lines.push(l.to_string());
        for step in 1..=25 {
            CellProgress::step(&mut sink, &record(step), 25);
        }
        sink.stage("eval 3/4");
        let steps: Vec<&str> = lines.iter().map(|l| l.split_whitespace().nth(1).unwrap()).collect();
        assert_eq!(steps, ["1/25", "10/25", "20/25", "25/25"]);
        assert!(lines[0].contains("loss 1.5000") && lines[0].contains("|g| 0.250"), "{}", lines[0]);
    }

    #[test]
    fn tokens_per_second_divides_and_guards_zero_time() {
        assert_eq!(tokens_per_second(300, 1.5), 200.0);
        assert_eq!(tokens_per_second(300, 0.0), 0.0);
    }
}
