//! Throughput figures for `loran-bench matmul` and `examples/bench_matmul.rs`: CPU model
//! and flags, per-core peaks, and GFLOP/s of each available backend. Printed, never
//! asserted: timings depend on the machine and its load.

use crate::{matmul_with, Backend, PackedBf16};
use std::io::Write;
use std::time::{Duration, Instant};

/// The shapes (M, K, N) of SmolLM2-135M's projections at 1024 tokens: attention/FFN
/// in and out, a LoRA-sized N, and a vocabulary-sized slice.
pub const SHAPES: [(usize, usize, usize); 5] =
    [(1024, 576, 1536), (1024, 1536, 576), (1024, 576, 192), (1024, 576, 8192), (1024, 8192, 576)];

/// `model name` of /proc/cpuinfo (or "unknown").
pub fn cpu_model() -> String {
    cpuinfo_field("model name").unwrap_or_else(|| "unknown".to_string())
}

/// The flags that decide the backend, as /proc/cpuinfo spells them, and whether the
/// kernel lists them (false where there is no /proc/cpuinfo).
pub fn cpu_flags() -> Vec<(&'static str, bool)> {
    let flags = cpuinfo_field("flags").unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    ["avx512f", "avx512_bf16", "amx_tile", "amx_bf16"].into_iter().map(|f| (f, has(f))).collect()
}

fn cpuinfo_field(name: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// Single-core GFLOP/s of the backend's multiply instruction on registers/resident
/// tiles (`None` for the portable backend or when the CPU lacks it).
pub fn peak_gflops(backend: Backend, min_time: Duration) -> Option<f64> {
    if !backend.is_available() {
        return None;
    }
    let run: fn(u64) -> f64 = match backend {
        Backend::Portable => return None,
        #[cfg(target_arch = "x86_64")]
        // SAFETY: availability checked above (features and, for AMX, OS permission).
        Backend::Avx512Bf16 => |i| unsafe { crate::avx512::peak_loop(i) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Backend::Amx => |i| unsafe { crate::amx::peak_loop(i) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => return None,
    };
    run(1000);
    Some(timed(min_time, || run(200_000)))
}

/// Repeats `f` (which returns the flops it did) until `min_time` passed; GFLOP/s.
fn timed(min_time: Duration, mut f: impl FnMut() -> f64) -> f64 {
    let start = Instant::now();
    let mut flops = 0.0;
    loop {
        flops += f();
        let t = start.elapsed();
        if t >= min_time {
            return flops / t.as_secs_f64() / 1e9;
        }
    }
}

/// Deterministic test data in [-1, 1).
pub fn data(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32) / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("rayon pool")
}

/// GFLOP/s of `matmul_with(backend)` on (M, K, N) with `threads` threads (packing of B
/// excluded: it happens once per weight; rounding A included).
pub fn matmul_gflops(backend: Backend, (m, k, n): (usize, usize, usize), threads: usize, min_time: Duration) -> Result<f64, crate::KernelError> {
    backend.check()?;
    let a = data(m * k, 1);
    let b = PackedBf16::pack(&data(k * n, 2), k, n)?;
    let mut out = vec![0.0f32; m * n];
    let flops = 2.0 * (m * k * n) as f64;
    pool(threads).install(|| {
        matmul_with(backend, &a, m, &b, &mut out, false)?;
        let mut res = Ok(());
        let g = timed(min_time, || {
            res = res.clone().and(matmul_with(backend, &a, m, &b, &mut out, false));
            flops
        });
        res.map(|_| g)
    })
}

/// GFLOP/s of f32 `gemm` 0.19 (what candle runs) on the same shape, for comparison.
#[cfg(feature = "gemm")]
pub fn gemm_f32_gflops((m, k, n): (usize, usize, usize), threads: usize, min_time: Duration) -> f64 {
    let a = data(m * k, 1);
    let b = data(k * n, 2);
    let mut out = vec![0.0f32; m * n];
    let par = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    let flops = 2.0 * (m * k * n) as f64;
    pool(threads).install(|| {
        timed(min_time, || {
            // SAFETY: row-major a [m,k], b [k,n], out [m,n] with the strides given; all
            // three live for the call and `out` is not aliased.
            unsafe {
                gemm::gemm(m, n, k, out.as_mut_ptr(), 1, n as isize, false, a.as_ptr(), 1, k as isize, b.as_ptr(), 1, n as isize, 0.0f32, 1.0f32, false, false, false, par)
            };
            flops
        })
    })
}

/// Prints the whole report: CPU, flags, peaks, and a table of GFLOP/s (with % of
/// per-core peak × threads) for every available backend, 1 and 2 threads.
pub fn report(w: &mut impl Write, shapes: &[(usize, usize, usize)], threads: &[usize], min_time: Duration) -> std::io::Result<()> {
    writeln!(w, "cpu: {}", cpu_model())?;
    let flags: Vec<String> = cpu_flags().iter().map(|(f, on)| format!("{f}={}", if *on { "yes" } else { "no" })).collect();
    writeln!(w, "flags: {}", flags.join(" "))?;
    writeln!(w, "backends available: {:?}, detected: {}", Backend::available(), Backend::detect())?;
    let backends = Backend::available();
    let mut peaks = Vec::new();
    for &b in &backends {
        let p = peak_gflops(b, min_time);
        if let Some(p) = p {
            writeln!(w, "per-core peak {b}: {p:.1} GFLOP/s")?;
        }
        peaks.push(p);
    }
    for &b in &[Backend::Amx, Backend::Avx512Bf16] {
        if !b.is_available() {
            writeln!(w, "per-core peak {b}: skipped (not available on this CPU)")?;
        }
    }
    writeln!(w, "{:>20} {:>12} {:>7} {:>10} {:>8}", "M×K×N", "backend", "threads", "GFLOP/s", "% peak")?;
    for &shape in shapes {
        let label = format!("{}×{}×{}", shape.0, shape.1, shape.2);
        for (&b, peak) in backends.iter().zip(&peaks) {
            for &t in threads {
                let g = matmul_gflops(b, shape, t, min_time).map_err(std::io::Error::other)?;
                let pct = peak.map(|p| format!("{:.0}%", 100.0 * g / (p * t as f64))).unwrap_or_else(|| "-".into());
                writeln!(w, "{label:>20} {:>12} {t:>7} {g:>10.1} {pct:>8}", b.name())?;
            }
        }
        #[cfg(feature = "gemm")]
        for &t in threads {
            let g = gemm_f32_gflops(shape, t, min_time);
            writeln!(w, "{label:>20} {:>12} {t:>7} {g:>10.1} {:>8}", "gemm-f32", "-")?;
        }
    }
    Ok(())
}
