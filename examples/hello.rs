//! Greets the caller by the function's name, with one-time init: reads `GREETING` once.
use lambda_lite::{Context, Error, lambda_main};

struct Greeting(String);

fn setup() -> Result<Greeting, Error> {
    Ok(Greeting(
        std::env::var("GREETING").unwrap_or_else(|_| "Hello".to_owned()),
    ))
}

fn handle(greeting: &mut Greeting, event: &[u8], ctx: &Context) -> Result<Vec<u8>, Error> {
    let name = std::str::from_utf8(event)?.trim().trim_matches('"');
    let name = if name.is_empty() { "world" } else { name };
    Ok(format!(
        "{} {name} from {}!",
        greeting.0, ctx.env_config.function_name
    )
    .into_bytes())
}

lambda_main!(init = setup, handler = handle);
