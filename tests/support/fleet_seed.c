#include "fleet_seed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encoding.h"
#include "json.h"
#include "store.h"

int da_fleet_add(struct da_test_server *s, struct da_fleet_machine *m, int idx)
{
    struct srv_store *st = NULL;
    struct srv_agent a;
    cJSON *hj = cJSON_CreateObject();
    char *host;
    int rc;

    memset(&m->ak, 0, sizeof(m->ak));
    m->n_reports = 0;
    if (da_soft_ak_new(&m->ak) != 0)
        return -1;
    snprintf(m->agent_id, sizeof(m->agent_id), "da5b0a7d00000000000000000000%04d", idx);
    /* any text as the host name, hostile ones included */
    host = cJSON_AddStringToObject(hj, "hostname", m->hostname) != NULL ? cJSON_PrintUnformatted(hj)
                                                                        : NULL;
    cJSON_Delete(hj);
    if (host == NULL)
        return -1;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", m->agent_id);
    snprintf(a.ek_name, sizeof(a.ek_name), "000bee%04d", idx);
    snprintf(a.ak_name, sizeof(a.ak_name), "000baa%04d", idx);
    a.ak_public = m->ak.pub;
    a.ak_public_len = m->ak.pub_len;
    a.host_json = host;
    a.created_at = (int64_t)time(NULL);
    if (m->ek_issuer != NULL)
        snprintf(a.ek_cert.issuer, sizeof(a.ek_cert.issuer), "%s", m->ek_issuer);
    if (m->ek_serial != NULL)
        snprintf(a.ek_cert.serial, sizeof(a.ek_cert.serial), "%s", m->ek_serial);
    if (m->ek_trust != NULL)
        snprintf(a.ek_trust, sizeof(a.ek_trust), "%s", m->ek_trust);
    if (m->ek_root != NULL)
        snprintf(a.ek_cert.root, sizeof(a.ek_cert.root), "%s", m->ek_root);
    rc = srv_store_open(s->db, 1, 86400, &st);
    if (rc == 0)
        rc = srv_store_vendor_ensure(st, m->vendor, &a.vendor_id);
    if (rc == 0)
        rc = srv_store_agent_create(st, &a);
    srv_store_close(st);
    free(host);
    return rc == 0 ? 0 : -1;
}

int da_fleet_report(struct da_test_server *s, struct da_fleet_machine *m, int encrypted)
{
    return da_fleet_report_log(s, m, encrypted, NULL, NULL, 0);
}

int da_fleet_report_log(struct da_test_server *s, struct da_fleet_machine *m, int encrypted,
                        const unsigned char pcrs[256], const unsigned char *log, size_t log_len)
{
    char path[128], *body = NULL;
    unsigned char nonce[128];
    size_t nlen = 0;
    struct da_test_http r;
    cJSON *doc, *ev, *n, *id;
    int rc = -1;

    if (m->n_reports >= DA_FLEET_MAX_REPORTS)
        return -1;
    snprintf(path, sizeof(path), "/v1/agents/%s/nonce", m->agent_id);
    if (da_test_http(s, "POST", path, NULL, "application/json", "{}", 2, &r) != 0)
        return -1;
    doc = r.status == 200 ? cJSON_Parse(r.body) : NULL;
    da_test_http_clear(&r);
    n = cJSON_GetObjectItem(doc, "nonce");
    if (!cJSON_IsString(n) ||
        da_base64_decode_to(n->valuestring, strlen(n->valuestring), DA_BASE64_STD, nonce,
                            sizeof(nonce), &nlen) != 0) {
        cJSON_Delete(doc);
        return -1;
    }
    cJSON_Delete(doc);
    /* the same host every time: two reports differ only in what the test changed */
    ev = da_soft_ak_evidence((unsigned)m->n_reports, encrypted);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(ev, "host"), "hostname",
                              cJSON_CreateString(m->hostname));
    snprintf(path, sizeof(path), "/v1/agents/%s/reports", m->agent_id);
    if (da_soft_ak_report_log(&m->ak, nonce, nlen, ev, pcrs, log, log_len, &body) == 0 &&
        da_test_http(s, "POST", path, NULL, "application/json", body, strlen(body), &r) == 0) {
        doc = r.status == 201 ? cJSON_Parse(r.body) : NULL;
        id = cJSON_GetObjectItem(doc, "report_id");
        if (cJSON_IsString(id)) {
            snprintf(m->report_ids[m->n_reports++], 40, "%s", id->valuestring);
            rc = 0;
        }
        cJSON_Delete(doc);
        da_test_http_clear(&r);
    }
    free(body);
    cJSON_Delete(ev);
    return rc;
}

void da_fleet_free(struct da_fleet_machine *m)
{
    da_soft_ak_free(&m->ak);
}

int da_fleet_tpm2_eventlog(const char *path, unsigned char pcrs[256], char apps[][65], int max_apps,
                           int *n_apps)
{
    char cmd[1024], line[512], hex[160], type[64] = "";
    int pcr = -1, in_pcrs = 0, in_sha256 = 0, n = 0, seen = 0;
    unsigned idx;
    FILE *p;

    memset(pcrs, 0, 256);
    snprintf(cmd, sizeof(cmd), "tpm2_eventlog '%s' 2>/dev/null", path);
    p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    while (fgets(line, sizeof(line), p) != NULL) {
        if (strncmp(line, "pcrs:", 5) == 0) {
            in_pcrs = 1;
            continue;
        }
        if (in_pcrs) {
            /* "  sha256:" then "    N  : 0xHEX" per extended PCR */
            if (strncmp(line, "  ", 2) == 0 && line[2] != ' ')
                in_sha256 = strncmp(line + 2, "sha256:", 7) == 0;
            else if (in_sha256 && sscanf(line, " %u : 0x%64[0-9a-f]", &idx, hex) == 2 && idx < 8 &&
                     strlen(hex) == 64) {
                for (unsigned k = 0; k < 32; k++)
                    sscanf(hex + 2 * k, "%2hhx", &pcrs[32 * idx + k]);
                seen++;
            }
            continue;
        }
        if (sscanf(line, "  PCRIndex: %d", &pcr) == 1)
            continue;
        if (sscanf(line, "  EventType: %63s", type) == 1)
            continue;
        if (strstr(line, "- AlgorithmId:") != NULL) {
            in_sha256 = strstr(line, "sha256") != NULL;
            continue;
        }
        if (in_sha256 && sscanf(line, " Digest: \"%159[0-9a-f]\"", hex) == 1) {
            in_sha256 = 0;
            if (pcr == 4 && strcmp(type, "EV_EFI_BOOT_SERVICES_APPLICATION") == 0 &&
                strlen(hex) == 64 && n < max_apps)
                memcpy(apps[n++], hex, 65);
        }
    }
    if (pclose(p) != 0 || seen == 0)
        return -1;
    *n_apps = n;
    return 0;
}
