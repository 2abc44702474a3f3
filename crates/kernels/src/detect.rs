//! Which backend this CPU/OS can run, the best one, and the `LORAN_MATMUL` override.

use crate::KernelError;
use std::sync::OnceLock;

/// A matmul implementation. All compute bf16 × bf16 products accumulated in f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// AMX-BF16 tiles (`tdpbf16ps`), Intel Sapphire Rapids and later.
    Amx,
    /// AVX-512-BF16 `vdpbf16ps` on zmm registers.
    Avx512Bf16,
    /// Plain Rust f32 arithmetic on the bf16 values; runs everywhere.
    Portable,
}

impl Backend {
    /// Fastest first.
    pub const ALL: [Backend; 3] = [Backend::Amx, Backend::Avx512Bf16, Backend::Portable];

    /// The name `LORAN_MATMUL` and the bench use.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Amx => "amx",
            Backend::Avx512Bf16 => "avx512bf16",
            Backend::Portable => "portable",
        }
    }

    /// Parses a [`Self::name`]; `None` for `auto`.
    pub fn parse(s: &str) -> Result<Option<Backend>, KernelError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(None),
            "amx" => Ok(Some(Backend::Amx)),
            "avx512bf16" | "avx512" => Ok(Some(Backend::Avx512Bf16)),
            "portable" => Ok(Some(Backend::Portable)),
            _ => Err(KernelError::UnknownBackend(s.to_string())),
        }
    }

    /// Whether this CPU and OS can run it (for AMX this asks Linux for the tile state
    /// permission, once per process).
    pub fn is_available(self) -> bool {
        match self {
            Backend::Portable => true,
            Backend::Avx512Bf16 => avx512bf16_available(),
            Backend::Amx => amx_available(),
        }
    }

    /// The backends this machine can run, fastest first.
    pub fn available() -> Vec<Backend> {
        Self::ALL.into_iter().filter(|b| b.is_available()).collect()
    }

    /// The fastest available backend (cached).
    pub fn detect() -> Backend {
        static BEST: OnceLock<Backend> = OnceLock::new();
        *BEST.get_or_init(|| Self::available()[0])
    }

    /// The backend [`crate::matmul`] uses: `LORAN_MATMUL` (read once per process) when set
    /// and not `auto`, else [`Self::detect`]. Forcing one the CPU lacks is an error.
    pub fn selected() -> Result<Backend, KernelError> {
        static SELECTED: OnceLock<Result<Backend, KernelError>> = OnceLock::new();
        SELECTED
            .get_or_init(|| Self::from_setting(std::env::var("LORAN_MATMUL").ok().as_deref()))
            .clone()
    }

    /// What `LORAN_MATMUL=setting` selects (no caching; `None` = unset).
    pub fn from_setting(setting: Option<&str>) -> Result<Backend, KernelError> {
        match setting.map(Self::parse).transpose()?.flatten() {
            None => Ok(Self::detect()),
            Some(b) => b.check(),
        }
    }

    /// `Ok(self)` when available, else [`KernelError::Unavailable`].
    pub fn check(self) -> Result<Backend, KernelError> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(KernelError::Unavailable(self.name()))
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(target_arch = "x86_64")]
fn avx512bf16_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bf16")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx512bf16_available() -> bool {
    false
}

/// CPUID leaf 7 / subleaf 0, EDX: bit 24 AMX-TILE, bit 22 AMX-BF16 (what the CPU has,
/// before asking the OS).
#[cfg(target_arch = "x86_64")]
pub(crate) fn cpu_has_amx_bf16() -> bool {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    // SAFETY: CPUID exists on every x86_64 CPU; leaf 7 is read only if the maximum basic
    // leaf (leaf 0's EAX) reaches it. (`__cpuid` is a safe fn on recent Rust, unsafe on
    // older toolchains within the workspace's rust-version.)
    #[allow(unused_unsafe)]
    let leaf7 = unsafe {
        if __cpuid(0).eax < 7 {
            return false;
        }
        __cpuid_count(7, 0)
    };
    (leaf7.edx >> 24) & 1 == 1 && (leaf7.edx >> 22) & 1 == 1
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn cpu_has_amx_bf16() -> bool {
    false
}

/// AMX usable: the CPU has it, the OS enables tile state in XCR0 (bits 17 TILECFG and
/// 18 TILEDATA) and Linux granted this process the XTILEDATA permission (without which
/// the first tile instruction raises SIGILL). Asked once per process.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn amx_available() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        if !cpu_has_amx_bf16() || !std::arch::is_x86_feature_detected!("xsave") {
            return false;
        }
        // SAFETY: `xsave` was just detected, which includes OSXSAVE (XGETBV enabled).
        let xcr0 = unsafe { read_xcr0() };
        if (xcr0 >> 17) & 3 != 3 {
            return false;
        }
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: arch_prctl(ARCH_REQ_XCOMP_PERM) only changes this process's permission
        // for the tile state; it touches no memory of ours.
        let rc = unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) };
        rc == 0
    })
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[target_feature(enable = "xsave")]
unsafe fn read_xcr0() -> u64 {
    // SAFETY: the caller checked that XGETBV is enabled; register 0 always exists.
    unsafe { std::arch::x86_64::_xgetbv(0) }
}

/// Other OSes: AMX needs an OS-specific opt-in we have not written; never claim it.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn amx_available() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        for b in Backend::ALL {
            assert_eq!(Backend::parse(b.name()).unwrap(), Some(b));
        }
        assert_eq!(Backend::parse("AUTO").unwrap(), None);
        assert!(matches!(Backend::parse("cuda"), Err(KernelError::UnknownBackend(_))));
    }

    #[test]
    fn detect_is_the_first_available_and_portable_always_is() {
        let avail = Backend::available();
        assert_eq!(avail.last(), Some(&Backend::Portable));
        assert_eq!(Backend::detect(), avail[0]);
        assert_eq!(Backend::from_setting(None).unwrap(), Backend::detect());
        assert_eq!(Backend::from_setting(Some("portable")).unwrap(), Backend::Portable);
    }

    #[test]
    fn forcing_a_missing_backend_is_an_error() {
        for b in Backend::ALL {
            let forced = Backend::from_setting(Some(b.name()));
            if b.is_available() {
                assert_eq!(forced, Ok(b));
            } else {
                assert_eq!(forced, Err(KernelError::Unavailable(b.name())));
            }
        }
    }
}
