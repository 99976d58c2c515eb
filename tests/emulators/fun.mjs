// Runs lambda-lite bootstraps under @vercel/fun, a Runtime API server for `provided` runtimes
// that freezes the process with SIGSTOP between invokes and closes idle keep-alive connections
// after 5 s (Node's default), as Lambda's freezes do to sockets. Driven by tests/emulators.rs.
// usage: node fun.mjs <dir with the echo example as bootstrap> <dir with the test fixture as bootstrap>
import { createFunction } from '@vercel/fun';

const [echoDir, fixtureDir] = process.argv.slice(2);
let failed = false;
function check(ok, what, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok ? '' : ' ' + detail}`);
  if (!ok) failed = true;
}
const invoke = (fn, payload) => fn.invoke({ InvocationType: 'RequestResponse', Payload: payload });

const echo = await createFunction({
  Code: { Directory: echoDir },
  Handler: 'bootstrap',
  Runtime: 'provided',
  MemorySize: 128,
});
try {
  for (const size of [17, 100 * 1024, 1024 * 1024]) {
    const payload = JSON.stringify({ data: 'x'.repeat(size - 11) });
    const res = await invoke(echo, payload);
    check(res.FunctionError === undefined && String(res.Payload) === payload, `echo answers a ${payload.length} B event`,
      `${res.FunctionError} ${String(res.Payload).slice(0, 200)}`);
  }
  // Longer than the server's 5 s keep-alive timeout, with the runtime frozen (SIGSTOP) meanwhile.
  await new Promise((resolve) => setTimeout(resolve, 6500));
  const res = await invoke(echo, '{"after":"a 6.5 s gap"}');
  check(String(res.Payload) === '{"after":"a 6.5 s gap"}', 'echo answers after a 6.5 s gap (reconnect)', String(res.Payload));
} finally {
  await echo.destroy();
}

const fixture = await createFunction({
  Code: { Directory: fixtureDir },
  Handler: 'bootstrap',
  Runtime: 'provided',
  Environment: { Variables: { FIXTURE_MODE: 'echo' } },
});
try {
  const err = await invoke(fixture, 'fail');
  const body = JSON.parse(String(err.Payload));
  check(err.FunctionError === 'Handled' && body.errorType === 'Function.Failed' && body.errorMessage === 'failed on purpose'
    && Array.isArray(body.stackTrace), 'a handler error comes back as the error JSON', String(err.Payload));
  const panic = await invoke(fixture, 'panic');
  const pbody = JSON.parse(String(panic.Payload));
  check(panic.FunctionError === 'Handled' && pbody.errorType === 'Runtime.HandlerPanic' && /boom in /.test(pbody.errorMessage),
    'a panic comes back as the error JSON', String(panic.Payload));
  const ok = await invoke(fixture, 'still serving');
  check(String(ok.Payload) === 'still serving', 'the same process serves on after an error and a panic', String(ok.Payload));
} finally {
  await fixture.destroy();
}
// A streamed answer (chunked POST, Response-Mode: streaming): fun reads it whole and returns it
// buffered; a failed stream's error trailers are ignored, so the caller sees the partial body
// as a success.
const stream = await createFunction({
  Code: { Directory: fixtureDir },
  Handler: 'bootstrap',
  Runtime: 'provided',
  Environment: { Variables: { FIXTURE_MODE: 'stream' } },
});
try {
  const whole = await invoke(stream, 'abcdef');
  check(whole.FunctionError === undefined && String(whole.Payload) === 'abcdef', 'a streamed answer comes back whole (buffered)',
    `${whole.FunctionError} ${String(whole.Payload)}`);
  const cut = await invoke(stream, 'panic');
  check(cut.FunctionError === undefined && String(cut.Payload) === 'partial',
    "a failed stream comes back as its partial body, no error (fun ignores the trailers)", `${cut.FunctionError} ${String(cut.Payload)}`);
} finally {
  await stream.destroy();
}
process.exit(failed ? 1 : 0);
