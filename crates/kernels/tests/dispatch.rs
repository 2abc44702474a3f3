//! Detection must pick what the CPU has, not silently fall back.

use loran_kernels::{bench, matmul, matmul_with, Backend, PackedBf16};

fn cpuinfo_has(flag: &str) -> bool {
    bench::cpu_flags().iter().any(|(f, on)| *f == flag && *on)
}

/// /proc/cpuinfo (the kernel's view, independent of our CPUID code) decides what
/// `detect` must return.
#[test]
fn detect_picks_the_best_backend_the_cpu_lists() {
    let detected = Backend::detect();
    let amx = cpuinfo_has("amx_tile") && cpuinfo_has("amx_bf16");
    println!("cpu: {}; detected {detected}", bench::cpu_model());
    if amx {
        assert_eq!(detected, Backend::Amx, "/proc/cpuinfo lists amx_tile and amx_bf16");
    } else {
        assert_ne!(detected, Backend::Amx, "no AMX in /proc/cpuinfo");
        #[cfg(target_arch = "x86_64")]
        {
            let avx = std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bf16");
            assert_eq!(avx, cpuinfo_has("avx512_bf16") && cpuinfo_has("avx512f"));
            if avx {
                assert_eq!(detected, Backend::Avx512Bf16);
            } else {
                assert_eq!(detected, Backend::Portable);
            }
        }
    }
}

/// `matmul` runs the selected backend (here: the detected one unless `LORAN_MATMUL` is
/// set), bit for bit.
#[test]
fn matmul_runs_the_selected_backend() {
    let (m, k, n) = (9, 77, 35);
    let a = bench::data(m * k, 5);
    let b = PackedBf16::pack(&bench::data(k * n, 6), k, n).unwrap();
    let sel = Backend::selected().unwrap();
    let mut x = vec![0.0f32; m * n];
    let mut y = vec![0.0f32; m * n];
    matmul(&a, m, &b, &mut x).unwrap();
    matmul_with(sel, &a, m, &b, &mut y, false).unwrap();
    assert_eq!(x, y);
}

#[test]
fn a_forced_missing_backend_is_refused() {
    let b = PackedBf16::pack(&[1.0; 4], 2, 2).unwrap();
    let mut out = [0.0f32; 2];
    for backend in Backend::ALL {
        let r = matmul_with(backend, &[1.0, 2.0], 1, &b, &mut out, false);
        assert_eq!(r.is_ok(), backend.is_available(), "{backend}: {r:?}");
        if r.is_ok() {
            assert_eq!(out, [3.0, 3.0]);
        }
    }
}
