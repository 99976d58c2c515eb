//! The whole client read path fed from memory in arbitrary pieces; pieces must not matter.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_lite::fuzz::client(data));
