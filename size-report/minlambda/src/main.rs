fn main() -> ! {
    minlambda::run_ok(|event: serde_json::Value| event)
}
