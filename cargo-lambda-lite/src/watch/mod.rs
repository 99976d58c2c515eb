//! `watch`: a long-running local Lambda for the binaries (and `--example`s) of the current
//! crate, each served under its name on cargo-lambda's URL shapes (127.0.0.1:9000 by default):
//! the Invoke API and InvokeWithResponseStream ([`invoke_api`]), Function URLs
//! ([`function_url`]), each function scaling over execution environments as Lambda scales it
//! ([`functions`]), rebuilt in the background when a source changes ([`reload`]).

// The helpers of a request answer early with an axum `Response` (its `Err`), once per request.
#![allow(clippy::result_large_err)]

pub mod client;
mod function_url;
mod functions;
mod invoke_api;
mod reload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, post};

use crate::local::{ACCOUNT, REGION};
use functions::Functions;

/// What `watch` serves.
pub struct Watch {
    functions: Arc<Functions>,
}

#[derive(clap::Args)]
pub struct Args {
    /// The port to serve on (cargo-lambda's default); 0: a free one, printed on the first line.
    #[arg(
        long,
        short = 'p',
        visible_alias = "invoke-port",
        default_value_t = 9000
    )]
    port: u16,
    /// The address to serve on (default: both loopbacks, 127.0.0.1 and [::1], as clients
    /// default to either; never a public address unless given here).
    #[arg(long, visible_alias = "invoke-address")]
    address: Option<String>,
    /// Serve this binary (repeatable; default: every binary of the package).
    #[arg(long = "bin", value_name = "NAME")]
    bins: Vec<String>,
    /// Serve this example (repeatable).
    #[arg(long = "example", value_name = "NAME")]
    examples: Vec<String>,
    /// The package's Cargo.toml (default: the one cargo finds from here).
    #[arg(long)]
    manifest_path: Option<PathBuf>,
    /// Cargo features to enable.
    #[arg(long)]
    features: Option<String>,
    /// An environment variable for every function, KEY=VALUE (repeatable), over
    /// `[package.metadata.lambda-lite.deploy] env`; `AWS_LAMBDA_MAX_CONCURRENCY=N` makes it a
    /// Managed Instances function (N invocations at once per process).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = crate::settings::key_value)]
    env: Vec<String>,
    /// Environment variables from a file of KEY=VALUE lines.
    #[arg(long)]
    env_file: Option<PathBuf>,
    /// The function timeout in seconds, for every function or for NAME (repeatable; default:
    /// the package's `[package.metadata.lambda-lite.deploy] timeout`, else Lambda's 3).
    #[arg(long = "timeout", value_name = "[NAME=]SECONDS", value_parser = crate::settings::named_timeout)]
    timeouts: Vec<String>,
    /// The memory size in MB, as the functions see it (default: the package's setting, else 128).
    #[arg(long, value_parser = crate::settings::memory_mb)]
    memory: Option<u32>,
    /// The most environments a function runs at once (its reserved concurrency); a request
    /// that finds them all busy is throttled (429), unless one has just answered (it takes the
    /// request when its runtime asks for its next event).
    #[arg(long, default_value_t = 10)]
    concurrency: usize,
    /// An external extension to start beside every function (repeatable), besides those
    /// `build --extension` wrote to target/lambda/extensions/.
    #[arg(long = "extension", value_name = "PATH")]
    extensions: Vec<PathBuf>,
    /// Start none of target/lambda/extensions/.
    #[arg(long)]
    no_extensions: bool,
    /// Shut down an environment after this many seconds without an invocation, as Lambda
    /// retires idle environments (the next invocation is a cold start); 0: never.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    idle_timeout: u64,
    /// Build once and serve it; no rebuild when sources change.
    #[arg(long)]
    no_reload: bool,
}

/// `/2015-03-31/functions/{name}`: a name, a partial ARN (`ACCOUNT:function:NAME`) or a full
/// one, with a qualifier or not, as Lambda reads it. `None` for what Lambda would not find
/// here: another account's or region's ARN, a qualifier other than `$LATEST` (watch has no
/// versions or aliases).
fn function_name(raw: &str) -> Option<&str> {
    let (scope, name) = match raw.split_once(":function:") {
        Some((scope, rest)) => (Some(scope), rest),
        None => (None, raw),
    };
    if let Some(scope) = scope {
        let ours = scope == ACCOUNT || scope == format!("arn:aws:lambda:{REGION}:{ACCOUNT}");
        if !ours {
            return None;
        }
    }
    let (name, qualifier) = name.split_once(':').unwrap_or((name, "$LATEST"));
    (qualifier == "$LATEST" && !name.is_empty()).then_some(name)
}

fn router(watch: Arc<Watch>) -> Router {
    Router::new()
        .route(
            "/2015-03-31/functions/{name}/invocations",
            post(invoke_api::invoke),
        )
        .route(
            "/2021-11-15/functions/{name}/response-streaming-invocations",
            post(invoke_api::invoke_with_response_stream),
        )
        .route("/lambda-url/{name}", any(function_url::function_url))
        .route("/lambda-url/{name}/", any(function_url::function_url))
        .route("/lambda-url/{name}/{*path}", any(function_url::function_url))
        .fallback(|uri: axum::http::Uri| async move {
            invoke_api::api_error(
                axum::http::StatusCode::NOT_FOUND,
                "UnknownOperationException",
                &format!(
                    "{}: watch serves /2015-03-31/functions/NAME/invocations, /2021-11-15/functions/NAME/response-streaming-invocations and /lambda-url/NAME/…",
                    uri.path()
                ),
            )
        })
        .with_state(watch)
}

pub fn watch(args: Args) -> Result<ExitCode, String> {
    let mut project = reload::Project::load(&args)?;
    let idle_limit = (args.idle_timeout > 0).then(|| Duration::from_secs(args.idle_timeout));
    let watch = Arc::new(Watch {
        functions: Arc::new(Functions::new(idle_limit)),
    });
    watch.functions.retire_idle_environments();
    let configs = project.build()?;
    let builds = project.generations.clone();
    watch.functions.update(configs, args.concurrency);
    let names = watch.functions.names();
    if names.is_empty() {
        return Err(
            "nothing to serve: the package has no binary (--bin NAME, or --example NAME)".into(),
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    // cargo-lambda's client and others default to ::1, the AWS CLI and SDKs to 127.0.0.1.
    let addresses = match &args.address {
        Some(address) if address.contains(':') => vec![format!("[{address}]:{}", args.port)],
        Some(address) => vec![format!("{address}:{}", args.port)],
        None => vec![
            format!("127.0.0.1:{}", args.port),
            format!("[::1]:{}", args.port),
        ],
    };
    // `--port 0`: the first loopback's listener picks a free port, the second takes the same.
    let mut listeners: Vec<tokio::net::TcpListener> = Vec::new();
    let mut served_on = addresses[0].clone();
    for (i, address) in addresses.iter().enumerate() {
        let address = match listeners.first().and_then(|l| l.local_addr().ok()) {
            Some(first) if args.port == 0 => match address.rsplit_once(':') {
                Some((host, _)) => format!("{host}:{}", first.port()),
                None => address.clone(),
            },
            _ => address.clone(),
        };
        match runtime.block_on(tokio::net::TcpListener::bind(&address)) {
            Ok(listener) => {
                if let (0, Ok(bound)) = (i, listener.local_addr()) {
                    served_on = bound.to_string();
                }
                listeners.push(listener);
            }
            // The second loopback is a courtesy: a machine without IPv6 serves on the first.
            Err(e) if i > 0 => eprintln!("watch: not serving on {address} too: {e}"),
            Err(e) => {
                return Err(format!(
                    "cannot listen on {address}: {e} (another watch running? --port N serves elsewhere, --port 0 on a free port)"
                ));
            }
        }
    }
    let address = &served_on;
    println!("watch: serving on http://{address}");
    if !project.extensions().is_empty() {
        println!("  with the extensions {}", project.extensions().join(", "));
    }
    for name in &names {
        println!(
            "  {name}: aws lambda invoke --endpoint-url http://{address} --function-name {name} out.json\n  {:width$}  curl http://{address}/lambda-url/{name}/",
            "",
            width = name.len()
        );
    }
    if !args.no_reload {
        reload::watch_sources(project, watch.clone(), args.concurrency)?;
    }
    let app = router(watch.clone());
    let served = runtime.block_on(async move {
        let (stop, stopping) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!(
                "watch: shutting down every environment (SHUTDOWN, SIGTERM, SIGKILL) once its invocations are done; Ctrl-C again to exit now…"
            );
            let _ = stop.send(true);
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("watch: exiting now");
            std::process::exit(130);
        });
        let servers: Vec<_> = listeners
            .into_iter()
            .map(|listener| tokio::spawn(serve(listener, app.clone(), stopping.clone())))
            .collect();
        for server in servers {
            match server.await {
                Ok(served) => served?,
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
        Ok(())
    });
    watch.functions.shut_down();
    runtime.shutdown_background();
    let _ = std::fs::remove_dir_all(builds);
    served.map_err(|e| format!("the server stopped: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// How long a client has to send a request's head, and then its body: a client that stalls
/// costs its connection until then, never a thread, and its buffer is bounded (hyper's, and
/// the 6 MB payload limit). Local clients send both at once; an idle keep-alive connection
/// is closed after the same time, as servers do.
pub const HEAD_LIMIT: Duration = Duration::from_secs(10);
/// How long a request's body has, once its head arrived (then 408 `RequestTimeoutException`).
pub const BODY_LIMIT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `stopping` turns true, then lets the connections finish
/// (an answer being streamed runs to its end).
async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    use tower::ServiceExt;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors, say: the connections already open are served meanwhile.
                Err(e) => {
                    eprintln!("watch: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = async {
                let _ = stopping.wait_for(|stop| *stop).await;
            } => break,
        };
        // Answers are written whole or framed by us: no wait for more to coalesce.
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(request.map(axum::body::Body::new))
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(HEAD_LIMIT)
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::function_name;

    #[test]
    fn names_arns_and_qualifiers_are_read_as_lambda_reads_them() {
        for (raw, name) in [
            ("echo", Some("echo")),
            ("echo:$LATEST", Some("echo")),
            ("012345678912:function:echo", Some("echo")),
            (
                "arn:aws:lambda:us-east-1:012345678912:function:echo",
                Some("echo"),
            ),
            (
                "arn:aws:lambda:us-east-1:012345678912:function:echo:$LATEST",
                Some("echo"),
            ),
            // Not here: another account or region, a version or alias watch does not have.
            ("arn:aws:lambda:eu-west-1:012345678912:function:echo", None),
            ("arn:aws:lambda:us-east-1:999999999999:function:echo", None),
            ("111111111111:function:echo", None),
            ("echo:no-such-alias", None),
            ("echo:42", None),
            (":$LATEST", None),
        ] {
            assert_eq!(function_name(raw), name, "{raw}");
        }
    }
}
