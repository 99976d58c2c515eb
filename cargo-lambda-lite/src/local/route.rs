//! What a request to the local Runtime API asks for: its method and path parsed once, where
//! the connection reads it, into one [`Route`]. Everything after this (the connection's own
//! answers, the environment's controller, the benchmarks) matches on the route, never on text.

/// The Runtime API's version prefix.
const RUNTIME: &str = "/2018-06-01/runtime/";
/// The Extensions API's.
const EXTENSION: &str = "/2020-01-01/extension/";

/// One call of the Runtime, Extensions or Telemetry API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /2018-06-01/runtime/invocation/next`: a worker asks for its next event.
    Next,
    /// `POST /2018-06-01/runtime/invocation/{id}/response`.
    Response(String),
    /// `POST /2018-06-01/runtime/invocation/{id}/error`.
    Error(String),
    /// `POST /2018-06-01/runtime/init/error`.
    InitError,
    /// `GET /2018-06-01/runtime/restore/next` (SnapStart).
    RestoreNext,
    /// `POST /2018-06-01/runtime/restore/error` (SnapStart).
    RestoreError,
    /// `POST /2020-01-01/extension/register`.
    Register,
    /// `GET /2020-01-01/extension/event/next`: an extension asks for its next event.
    ExtensionNext,
    /// `POST /2020-01-01/extension/init/error` or `/exit/error`.
    ExtensionError,
    /// `PUT /2022-07-01/telemetry` (the Telemetry API) or `PUT /2020-08-15/logs` (the Logs API
    /// before it): a subscription.
    Subscribe,
    /// A path the API has, with another method: 405.
    WrongMethod,
    /// A path the API does not have: 404, as Lambda answers it.
    NotFound,
}

impl Route {
    /// The route of a request line's method and target (a query string is ignored).
    pub fn parse(method: &str, target: &str) -> Route {
        let path = target.split_once('?').map_or(target, |(path, _)| path);
        let (want, route) = if let Some(rest) = path.strip_prefix(RUNTIME) {
            match rest {
                "invocation/next" => ("GET", Route::Next),
                "init/error" => ("POST", Route::InitError),
                "restore/next" => ("GET", Route::RestoreNext),
                "restore/error" => ("POST", Route::RestoreError),
                _ => match invocation(rest) {
                    Some(route) => ("POST", route),
                    None => return Route::NotFound,
                },
            }
        } else if let Some(rest) = path.strip_prefix(EXTENSION) {
            match rest {
                "register" => ("POST", Route::Register),
                "event/next" => ("GET", Route::ExtensionNext),
                "init/error" | "exit/error" => ("POST", Route::ExtensionError),
                _ => return Route::NotFound,
            }
        } else if path == "/2022-07-01/telemetry" || path == "/2020-08-15/logs" {
            ("PUT", Route::Subscribe)
        } else {
            return Route::NotFound;
        };
        if method == want {
            route
        } else {
            Route::WrongMethod
        }
    }

    /// Calls that belong to one invocation: the response and the error posts.
    pub fn invocation_id(&self) -> Option<&str> {
        match self {
            Route::Response(id) | Route::Error(id) => Some(id),
            _ => None,
        }
    }
}

/// `invocation/{id}/response` or `invocation/{id}/error`, the id one non-empty path segment.
fn invocation(rest: &str) -> Option<Route> {
    let rest = rest.strip_prefix("invocation/")?;
    let (id, kind) = rest.split_once('/')?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    match kind {
        "response" => Some(Route::Response(id.to_owned())),
        "error" => Some(Route::Error(id.to_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Route::{self, *};

    #[test]
    fn every_route_of_the_three_apis() {
        let cases = [
            ("GET", "/2018-06-01/runtime/invocation/next", Next),
            (
                "POST",
                "/2018-06-01/runtime/invocation/abc-1/response",
                Response("abc-1".into()),
            ),
            (
                "POST",
                "/2018-06-01/runtime/invocation/abc-1/error",
                Error("abc-1".into()),
            ),
            ("POST", "/2018-06-01/runtime/init/error", InitError),
            ("GET", "/2018-06-01/runtime/restore/next", RestoreNext),
            ("POST", "/2018-06-01/runtime/restore/error", RestoreError),
            ("POST", "/2020-01-01/extension/register", Register),
            ("GET", "/2020-01-01/extension/event/next", ExtensionNext),
            ("POST", "/2020-01-01/extension/init/error", ExtensionError),
            ("POST", "/2020-01-01/extension/exit/error", ExtensionError),
            ("PUT", "/2022-07-01/telemetry", Subscribe),
            ("PUT", "/2020-08-15/logs", Subscribe),
            // A query string does not change the call.
            ("GET", "/2018-06-01/runtime/invocation/next?x=1", Next),
        ];
        for (method, path, want) in cases {
            assert_eq!(Route::parse(method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn a_known_path_with_another_method_is_not_that_call() {
        for (method, path) in [
            ("POST", "/2018-06-01/runtime/invocation/next"),
            ("GET", "/2018-06-01/runtime/invocation/abc-1/response"),
            ("PUT", "/2018-06-01/runtime/invocation/abc-1/error"),
            ("GET", "/2018-06-01/runtime/init/error"),
            ("POST", "/2018-06-01/runtime/restore/next"),
            ("GET", "/2020-01-01/extension/register"),
            ("POST", "/2020-01-01/extension/event/next"),
            ("POST", "/2022-07-01/telemetry"),
            ("get", "/2018-06-01/runtime/invocation/next"),
        ] {
            assert_eq!(Route::parse(method, path), WrongMethod, "{method} {path}");
        }
    }

    #[test]
    fn malformed_and_unknown_paths_are_not_found() {
        for path in [
            "",
            "/",
            "/2018-06-01/runtime/invocation//response",
            "/2018-06-01/runtime/invocation/a/b/response",
            "/2018-06-01/runtime/invocation/abc-1/response/x",
            "/2018-06-01/runtime/invocation/abc-1",
            "/2018-06-01/runtime/invocation/abc-1/result",
            "/2018-06-01/runtime/invocation/next/extra",
            "/2018-06-01/runtime/next",
            "/2019-01-01/runtime/invocation/next",
            "/x/2018-06-01/runtime/invocation/next",
            "/2018-06-01/runtime/invocation/abc-1/response/../error",
            "/2020-01-01/extension/event/next/",
            "/2020-01-01/extension/",
            "/2022-07-01/telemetry/",
            "/abc-1/response",
            "*",
        ] {
            for method in ["GET", "POST", "PUT"] {
                assert_eq!(Route::parse(method, path), NotFound, "{method} {path:?}");
            }
        }
    }

    #[test]
    fn only_the_invocation_posts_name_an_invocation() {
        assert_eq!(Response("a".into()).invocation_id(), Some("a"));
        assert_eq!(Error("b".into()).invocation_id(), Some("b"));
        for other in [Next, InitError, RestoreNext, Register, Subscribe, NotFound] {
            assert_eq!(other.invocation_id(), None);
        }
    }
}
