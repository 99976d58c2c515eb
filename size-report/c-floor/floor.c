#define _GNU_SOURCE
/* The C floor: the least a runtime can do. Connects once to $AWS_LAMBDA_RUNTIME_API
 * (numeric host:port), then loops: GET /next, read the head and a Content-Length body, POST
 * the body back to /invocation/{id}/response, read the 202. No chunked bodies, no error
 * handling worth the name: it is the yardstick the report compares lambda-lite with.
 * Built with: musl-gcc -Os -s -static floor.c -o floor */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[1 << 16], req[1 << 16];

/* Reads one response; returns the body length, body at *body, id copied into id. */
static long read_response(int fd, char **body, char *id) {
    long filled = 0, head = -1, len = 0;
    for (;;) {
        if (head < 0) {
            char *end = memmem(buf, filled, "\r\n\r\n", 4);
            if (end) {
                head = end - buf + 4;
                buf[head - 1] = 0;
                char *cl = strcasestr(buf, "\ncontent-length:");
                len = cl ? atol(cl + 16) : 0;
                char *rid = strcasestr(buf, "\nlambda-runtime-aws-request-id:");
                if (rid && id) {
                    rid += 31;
                    while (*rid == ' ') rid++;
                    size_t n = strcspn(rid, "\r\n");
                    memcpy(id, rid, n);
                    id[n] = 0;
                }
            }
        }
        if (head >= 0 && filled >= head + len) break;
        long n = read(fd, buf + filled, sizeof buf - filled);
        if (n <= 0) exit(1);
        filled += n;
    }
    *body = buf + head;
    return len;
}

int main(void) {
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) return 1;
    char host[64];
    strncpy(host, api, sizeof host - 1);
    char *colon = strrchr(host, ':');
    if (!colon) return 1;
    *colon = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(colon + 1))};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char id[256];
    for (;;) {
        int n = snprintf(req, sizeof req, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n", api);
        write(fd, req, n);
        char *body;
        long len = read_response(fd, &body, id);
        n = snprintf(req, sizeof req,
                     "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\nContent-Length: %ld\r\n\r\n",
                     id, api, len);
        memcpy(req + n, body, len);
        write(fd, req, n + len);
        read_response(fd, &body, NULL);
    }
}
