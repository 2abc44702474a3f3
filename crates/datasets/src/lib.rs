//! loran-datasets: tasks (news-standfirst, mailing-list-topics, samsum, ...)
//! as prompt/target pairs. It knows nothing of candle models; the runner
//! feeds its batches to a model.
