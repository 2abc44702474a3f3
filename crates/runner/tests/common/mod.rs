//! Helpers shared by the runner's integration tests.

use loran_datasets::TokenizedExample;

/// Six tokenized examples of growing length (9, 12, …, 24 tokens), the last 4 tokens the target.
pub fn examples() -> Vec<TokenizedExample> {
    (0..6)
        .map(|i| {
            let len = 9 + 3 * i;
            let input_ids: Vec<u32> = (0..len).map(|t| ((i * 31 + t * 17 + 5) % 260) as u32).collect();
            let prompt_len = len - 4;
            let mut loss_mask = vec![0u8; prompt_len];
            loss_mask.resize(len, 1);
            TokenizedExample { input_ids, loss_mask, prompt_len }
        })
        .collect()
}
