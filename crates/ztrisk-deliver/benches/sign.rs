//! How many Okta SETs one core signs per second (the cost under the delivery throughput of
//! `bench/sharing.sh`): `cargo bench -p ztrisk-deliver --bench sign`.

use std::time::Instant;
use ztrisk_core::RiskLevel;
use ztrisk_core::scoring::ChangeCause;
use ztrisk_deliver::keys::{SigningKey, generate_pkcs8};
use ztrisk_deliver::set::{RiskChangeSet, SET_TYP};

fn main() {
    let der = match generate_pkcs8() {
        Ok(der) => der,
        Err(e) => return eprintln!("keygen: {e}"),
    };
    let key = match SigningKey::from_pkcs8(&der) {
        Ok(key) => key,
        Err(e) => return eprintln!("load: {e}"),
    };
    let cause = ChangeCause::Reset;
    let count = 2000;
    let started = Instant::now();
    let mut bytes = 0;
    for i in 0..count {
        let jti = format!("{i:032x}");
        let set = RiskChangeSet {
            issuer: "https://ztrisk.example/6f1c2d3e-0000-4000-8000-000000000001",
            audience: "https://tenant.okta.com",
            jti: &jti,
            iat: 1_767_225_600,
            email: "jane@example.com",
            previous: Some(RiskLevel::High),
            current: None,
            changed_at_ms: 1_767_225_598_000,
            cause: &cause,
        };
        match key.sign_jws(SET_TYP, &set.okta_claims()) {
            Ok(jws) => bytes += jws.len(),
            Err(e) => return eprintln!("sign: {e}"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "signed {count} SETs in {elapsed:.3} s: {:.0} SETs/s on one core ({:.0} us each, {} bytes avg)",
        f64::from(count) / elapsed,
        elapsed * 1e6 / f64::from(count),
        bytes / count as usize
    );
}
