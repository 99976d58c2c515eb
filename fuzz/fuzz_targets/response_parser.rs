//! The response-head parser and the chunked decoder on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lambda_lite::fuzz::response_parser(data));
