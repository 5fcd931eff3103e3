// go-template-reference: renders Go text/template with sprig v3 — the engine ESO's templates run on — so the
// migrate tests compare our liquid translation with the original's real output. One JSON request per line on
// stdin ({"template":T,"data":{k:v}}), one answer per line on stdout ({"ok":true,"output":S} | {"ok":false,"error":E}).
// Options as ESO v2.9.0's engine: missingkey=error, data values as strings, ESO's pkcs12*/filterPEM (eso/).
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"secret-relay.dev/test/go-template-reference/eso"
)

type request struct {
	Template string            `json:"template"`
	Data     map[string]string `json:"data"`
	// Data64 holds values that are not text (PKCS#12 bundles), base64-encoded; decoded into the data.
	Data64 map[string]string `json:"data64"`
}

func render(req request) map[string]any {
	data := map[string]string{}
	for k, v := range req.Data {
		data[k] = v
	}
	for k, v := range req.Data64 {
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return map[string]any{"ok": false, "error": "bad data64"}
		}
		data[k] = string(raw)
	}
	funcs := sprig.TxtFuncMap()
	for name, fn := range eso.Funcs() {
		funcs[name] = fn
	}
	t, err := template.New("t").Option("missingkey=error").Funcs(funcs).Parse(req.Template)
	if err != nil {
		return map[string]any{"ok": false, "error": err.Error()}
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		return map[string]any{"ok": false, "error": err.Error()}
	}
	return map[string]any{"ok": true, "output": out.String()}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	enc := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			_ = enc.Encode(map[string]any{"ok": false, "error": "bad request"})
			continue
		}
		_ = enc.Encode(render(req))
	}
}
