/* The dashboard: static files compiled into the server (server/ui/, see
 * server/CMakeLists.txt). A request names a file of the fixed table below
 * or gets 404; no path ever reaches the file system, so no request can
 * read anything else. The page holds no data: it calls the API with the
 * bearer token the user typed, as any other client does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "err.h"

extern const unsigned char srv_ui_index_html[], srv_ui_app_js[], srv_ui_app_css[],
    srv_ui_icon_svg[];
extern const size_t srv_ui_index_html_len, srv_ui_app_js_len, srv_ui_app_css_len,
    srv_ui_icon_svg_len;

struct ui_file {
    const char *name;
    const char *content_type;
    const unsigned char *data;
    const size_t *len;
};

static const struct ui_file ui_files[] = {
    {"index.html", "text/html; charset=utf-8", srv_ui_index_html, &srv_ui_index_html_len},
    {"app.js", "text/javascript; charset=utf-8", srv_ui_app_js, &srv_ui_app_js_len},
    {"app.css", "text/css; charset=utf-8", srv_ui_app_css, &srv_ui_app_css_len},
    {"icon.svg", "image/svg+xml", srv_ui_icon_svg, &srv_ui_icon_svg_len},
};

static int serve(const char *name, struct srv_response *resp)
{
    size_t i;

    for (i = 0; i < sizeof(ui_files) / sizeof(ui_files[0]); i++) {
        const struct ui_file *f = &ui_files[i];

        if (strcmp(f->name, name) != 0)
            continue;
        resp->body = malloc(*f->len + 1);
        if (resp->body == NULL)
            return DA_ERR_NOMEM;
        memcpy(resp->body, f->data, *f->len);
        resp->body[*f->len] = '\0';
        resp->body_len = *f->len;
        resp->status = 200;
        resp->content_type = f->content_type;
        return 0;
    }
    snprintf(resp->message, sizeof(resp->message), "no such dashboard file");
    return DA_ERR_ROUTE;
}

int srv_api_ui_index(struct srv_request *req, struct srv_response *resp)
{
    (void)req;
    return serve("index.html", resp);
}

int srv_api_ui_file(struct srv_request *req, struct srv_response *resp)
{
    return serve(req->param[0], resp);
}
