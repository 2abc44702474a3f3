//! The SAMSum-like prediction/reference pairs `loran-bench rouge` scores: 1–3
//! sentences of names, inflected verbs, nouns and adjectives (so stemming matters),
//! predictions paraphrased from their references, from a fixed seed; no external data.

use serde::{Deserialize, Serialize};

/// One generated pair, as written to the JSONL file the Python side reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// The system output.
    pub prediction: String,
    /// The gold summary (ROUGE's target).
    pub reference: String,
}

/// SplitMix64: a tiny, fixed PRNG, so the pairs never change with a dependency.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        loran_model::splitmix::next(&mut self.0)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

use super::vocab::*;

/// One generated word: its text and the other inflections of its lemma (empty
/// for function words), so a prediction can swap a form for another one.
#[derive(Clone, Debug)]
struct Word {
    text: &'static str,
    forms: &'static [&'static str],
}

impl Word {
    fn plain(text: &'static str) -> Self {
        Word { text, forms: &[] }
    }
}

fn push_phrase(words: &mut Vec<Word>, phrase: &'static str) {
    words.extend(phrase.split(' ').map(Word::plain));
}

fn noun_phrase(rng: &mut Rng, words: &mut Vec<Word>) {
    words.push(Word::plain(rng.pick(DETERMINERS)));
    if rng.chance(0.35) {
        let adjective = &ADJECTIVES[rng.below(ADJECTIVES.len())];
        words.push(Word { text: adjective[if rng.chance(0.8) { 0 } else { 1 }], forms: adjective });
    }
    let noun = &NOUNS[rng.below(NOUNS.len())];
    words.push(Word { text: noun[rng.below(2)], forms: noun });
}

fn subject(rng: &mut Rng, words: &mut Vec<Word>) {
    words.push(Word::plain(rng.pick(NAMES)));
    if rng.chance(0.2) {
        words.push(Word::plain("and"));
        words.push(Word::plain(rng.pick(NAMES)));
    }
}

/// One clause of 3–12 words: subject, a verb in some form, objects, a time.
fn clause(rng: &mut Rng, words: &mut Vec<Word>) {
    subject(rng, words);
    let verb = &VERBS[rng.below(VERBS.len())];
    match rng.below(7) {
        0 => words.push(Word { text: verb[1], forms: verb }),
        1 => words.push(Word { text: verb[2], forms: verb }),
        2 => {
            push_phrase(words, "will");
            words.push(Word { text: verb[0], forms: verb });
        }
        3 => {
            push_phrase(words, rng.pick(&["is", "was", "are"]));
            words.push(Word { text: verb[3], forms: verb });
        }
        4 => {
            push_phrase(words, rng.pick(&["has", "have", "hasn't"]));
            words.push(Word { text: verb[4], forms: verb });
        }
        5 => {
            let want = &WANT_VERBS[rng.below(WANT_VERBS.len())];
            words.push(Word { text: want[rng.range(1, 2)], forms: want });
            push_phrase(words, "to");
            words.push(Word { text: verb[0], forms: verb });
        }
        _ => {
            push_phrase(words, rng.pick(&["can't", "doesn't", "didn't", "won't"]));
            words.push(Word { text: verb[0], forms: verb });
        }
    }
    if rng.chance(0.15) {
        words.push(Word::plain(rng.pick(FILLERS)));
    }
    noun_phrase(rng, words);
    if rng.chance(0.4) {
        words.push(Word::plain(rng.pick(PREPOSITIONS)));
        noun_phrase(rng, words);
    }
    if rng.chance(0.45) {
        push_phrase(words, rng.pick(TIMES));
    }
}

/// One sentence of about `words` words (a clause has 4–16): clauses joined
/// by conjunctions while at least 5 words remain.
fn sentence(rng: &mut Rng, target_words: usize) -> Vec<Word> {
    let mut words = Vec::new();
    clause(rng, &mut words);
    while words.len() + 5 <= target_words {
        words.push(Word::plain(","));
        words.push(Word::plain(rng.pick(CONJUNCTIONS)));
        clause(rng, &mut words);
    }
    words
}

/// A random vocabulary word, for substitutions and insertions.
fn random_word(rng: &mut Rng) -> Word {
    match rng.below(5) {
        0 => {
            let verb = &VERBS[rng.below(VERBS.len())];
            Word { text: verb[rng.below(5)], forms: verb }
        }
        1 => {
            let noun = &NOUNS[rng.below(NOUNS.len())];
            Word { text: noun[rng.below(2)], forms: noun }
        }
        2 => Word::plain(rng.pick(NAMES)),
        3 => Word::plain(rng.pick(FILLERS)),
        _ => Word::plain(rng.pick(DETERMINERS)),
    }
}

/// The prediction's version of a reference sentence: mostly the same words,
/// some swapped for another inflection of the same lemma (a match only after
/// stemming, sometimes not even then), some replaced, dropped or inserted.
fn paraphrase(rng: &mut Rng, reference: &[Word]) -> Vec<Word> {
    let mut out = Vec::with_capacity(reference.len() + 4);
    for word in reference {
        let roll = rng.below(100);
        if word.text == "," {
            out.push(word.clone());
        } else if roll < 16 && !word.forms.is_empty() {
            out.push(Word { text: rng.pick(word.forms), forms: word.forms });
        } else if roll < 26 {
            out.push(random_word(rng));
        } else if roll < 33 {
            // dropped
        } else {
            out.push(word.clone());
        }
        if rng.chance(0.06) {
            out.push(random_word(rng));
        }
    }
    if out.iter().all(|w| w.text == ",") {
        out.push(random_word(rng));
    }
    out
}

/// Renders a sentence: a capital letter, commas attached, a full stop.
fn render(words: &[Word]) -> String {
    let mut text = String::new();
    for word in words {
        if word.text == "," {
            if !text.is_empty() && !text.ends_with(',') {
                text.push(',');
            }
            continue;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word.text);
    }
    let text = text.trim_end_matches(',').to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// Joins sentences one per line (what `rougeLsum` expects), or now and then on
/// one line, as a model that ignores the convention would.
fn join(rng: &mut Rng, sentences: &[String]) -> String {
    let separator = if rng.chance(0.8) { "\n" } else { " " };
    sentences.join(separator)
}

/// `n` deterministic SAMSum-like (prediction, reference) pairs: 1–3 sentences
/// and roughly 15–40 words per text, a few hundred distinct words with their
/// inflections, predictions that share many words and n-grams with their
/// reference (about 8% unrelated), multi-sentence texts mostly one per line.
pub fn generate_pairs(seed: u64, n: usize) -> Vec<Pair> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let budget = rng.range(15, 40);
            let count = match budget {
                15..=19 => 1,
                20..=27 => rng.range(1, 2),
                _ => rng.range(2, 3),
            };
            let reference: Vec<Vec<Word>> = (0..count).map(|_| sentence(&mut rng, budget / count)).collect();
            let mut prediction: Vec<Vec<Word>> = if rng.chance(0.08) {
                // An unrelated summary of the same shape.
                (0..rng.range(1, 3)).map(|_| sentence(&mut rng, budget / count)).collect()
            } else {
                reference
                    .iter()
                    .map(|s| if rng.chance(0.12) { sentence(&mut rng, s.len()) } else { paraphrase(&mut rng, s) })
                    .collect()
            };
            if prediction.len() >= 2 && rng.chance(0.2) {
                prediction.swap(0, 1);
            }
            if prediction.len() >= 2 && rng.chance(0.15) {
                prediction.pop();
            } else if prediction.len() < 3 && rng.chance(0.15) {
                let target_words = rng.range(6, 12);
                prediction.push(sentence(&mut rng, target_words));
            }
            let reference: Vec<String> = reference.iter().map(|s| render(s)).collect();
            let prediction: Vec<String> = prediction.iter().map(|s| render(s)).collect();
            Pair { prediction: join(&mut rng, &prediction), reference: join(&mut rng, &reference) }
        })
        .collect()
}

#[cfg(test)]
#[path = "pairs_tests.rs"]
mod tests;
