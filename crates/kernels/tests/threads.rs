//! Bit-identical results on 1 and 2 threads (different task splits too).

use crate::common::data;
use loran_kernels::{matmul_with, Backend, PackedBf16};

fn run(backend: Backend, threads: usize, a: &[f32], m: usize, b: &PackedBf16) -> Vec<u32> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut out = vec![0.0f32; m * b.n()];
    pool.install(|| matmul_with(backend, a, m, b, &mut out, false)).unwrap();
    out.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn one_and_two_threads_are_bit_identical_for_every_backend() {
    // (200, 700, 300): many tasks; (100, 301, 40): few column blocks, so the row block
    // size differs between the two pools (the driver halves it for more tasks).
    for &(m, k, n) in &[(200, 700, 300), (100, 301, 40), (33, 1536, 576)] {
        let a = data(m * k, 21);
        let b = PackedBf16::pack_transposed(&data(n * k, 22), n, k).unwrap();
        for backend in Backend::available() {
            let one = run(backend, 1, &a, m, &b);
            let two = run(backend, 2, &a, m, &b);
            let diff = one.iter().zip(&two).filter(|(x, y)| x != y).count();
            assert_eq!(diff, 0, "{backend} {m}×{k}×{n}: {diff} elements differ between 1 and 2 threads");
            println!("{backend} {m}×{k}×{n}: 1 and 2 threads bit-identical");
        }
    }
}
