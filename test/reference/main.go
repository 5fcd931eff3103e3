// reference: what Go's regexp and tidwall/gjson (the libraries External Secrets Operator uses) answer for a
// table of inputs, so our unit tests take their expected values from the reference itself, not from memory.
// Reads one JSON request per line on stdin, writes one JSON answer per line on stdout, in order.
//
//	{"op":"regexp","pattern":P,"input":S,"template":T}  → {"ok":true,"match":bool,"replaced":S'} | {"ok":false}
//	{"op":"gjson","json":J,"path":P}                     → {"exists":bool,"string":S}   (Result.String(), as ESO writes it)
//	{"op":"extract","json":J}                             → {"ok":true,"entries":{k:v}} (ESO's fake GetSecretMap rule)
//	{"op":"decode","strategy":S,"input":I}                 → {"ok":true,"base64":B} | {"ok":false} (ESO's decoding.Decode)
//	{"op":"merge","merge":M,"data":{k:base64}}             → {"ok":true,"data":{k:base64}} | {"ok":false} (ESO's RewriteMerge)
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

type request struct {
	Op       string            `json:"op"`
	Pattern  string            `json:"pattern"`
	Input    string            `json:"input"`
	Template string            `json:"template"`
	JSON     string            `json:"json"`
	Path     string            `json:"path"`
	Strategy string            `json:"strategy"`
	Merge    rewriteMerge      `json:"merge"`
	Data     map[string][]byte `json:"data"`
}

// rewriteMerge and the functions below are ESO v2.9.0's runtime/esutils RewriteMerge, merge, sortKeysWithPriority,
// GetByteValue and JSONMarshal, copied (Apache License 2.0, © The ESO Authors) without ESO's API package.
type rewriteMerge struct {
	Into           string   `json:"into"`
	Priority       []string `json:"priority"`
	PriorityPolicy string   `json:"priorityPolicy"`
	ConflictPolicy string   `json:"conflictPolicy"`
	Strategy       string   `json:"strategy"`
}

func jsonMarshal(t any) ([]byte, error) {
	buffer := &bytes.Buffer{}
	encoder := json.NewEncoder(buffer)
	encoder.SetEscapeHTML(false)
	err := encoder.Encode(t)
	return bytes.TrimRight(buffer.Bytes(), "\n"), err
}

func getByteValue(v any) ([]byte, error) {
	switch t := v.(type) {
	case string:
		return []byte(t), nil
	case map[string]any:
		return json.Marshal(t)
	case float64:
		return []byte(strconv.FormatFloat(t, 'f', -1, 64)), nil
	case []any:
		return json.Marshal(t)
	case bool:
		return []byte(strconv.FormatBool(t)), nil
	case nil:
		return []byte(nil), nil
	default:
		return nil, errors.New("unexpected type")
	}
}

func rewriteMergeMap(operation rewriteMerge, in map[string][]byte) (map[string][]byte, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		if !slices.Contains(operation.Priority, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	keys = append(keys, operation.Priority...)
	mergedMap := make(map[string]any)
	conflicts := make([]string, 0)
	for _, key := range keys {
		value, exists := in[key]
		if !exists {
			if operation.PriorityPolicy == "IgnoreNotFound" {
				continue
			}
			return nil, errors.New("key not found")
		}
		var jsonMap map[string]any
		if err := json.Unmarshal(value, &jsonMap); err != nil {
			return nil, err
		}
		for k, v := range jsonMap {
			if _, conflict := mergedMap[k]; conflict {
				conflicts = append(conflicts, k)
			}
			mergedMap[k] = v
		}
	}
	if operation.ConflictPolicy != "Ignore" && len(conflicts) > 0 {
		return nil, errors.New("conflicts: " + strings.Join(conflicts, ", "))
	}
	out := make(map[string][]byte)
	switch operation.Strategy {
	case "Extract", "":
		for k, v := range mergedMap {
			b, err := getByteValue(v)
			if err != nil {
				return nil, err
			}
			out[k] = b
		}
	case "JSON":
		if operation.Into == "" {
			return nil, errors.New("missing into")
		}
		merged, err := jsonMarshal(mergedMap)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, in)
		out[operation.Into] = merged
	}
	return out, nil
}

// decode is ESO v2.9.0's runtime/decoding.Decode, copied (it is small and depends on ESO's API package).
func decode(strategy string, in []byte) ([]byte, error) {
	switch strategy {
	case "Base64":
		return base64.StdEncoding.DecodeString(string(in))
	case "Base64URL":
		return base64.URLEncoding.DecodeString(string(in))
	case "None", "":
		return in, nil
	case "Auto":
		if out, err := decode("Base64", in); err == nil {
			return out, nil
		}
		if out, err := decode("Base64URL", in); err == nil {
			return out, nil
		}
		return in, nil
	}
	return nil, errors.New("unknown strategy")
}

func answer(req request) any {
	switch req.Op {
	case "regexp":
		re, err := regexp.Compile(req.Pattern)
		if err != nil {
			return map[string]any{"ok": false}
		}
		return map[string]any{"ok": true, "match": re.MatchString(req.Input), "replaced": re.ReplaceAllString(req.Input, req.Template)}
	case "gjson":
		r := gjson.Get(req.JSON, req.Path)
		return map[string]any{"exists": r.Exists(), "string": r.String()}
	case "decode":
		out, err := decode(req.Strategy, []byte(req.Input))
		if err != nil {
			return map[string]any{"ok": false}
		}
		return map[string]any{"ok": true, "base64": base64.StdEncoding.EncodeToString(out)}
	case "merge":
		out, err := rewriteMergeMap(req.Merge, req.Data)
		if err != nil {
			return map[string]any{"ok": false}
		}
		return map[string]any{"ok": true, "data": out}
	case "extract":
		kv := map[string]json.RawMessage{}
		if err := json.Unmarshal([]byte(req.JSON), &kv); err != nil {
			return map[string]any{"ok": false}
		}
		out := map[string]string{}
		for k, v := range kv {
			var s string
			if json.Unmarshal(v, &s) == nil {
				out[k] = s
			} else {
				out[k] = string(v)
			}
		}
		return map[string]any{"ok": true, "entries": out}
	}
	return map[string]any{"error": "unknown op " + req.Op}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			_ = enc.Encode(map[string]any{"error": "bad request line"})
			continue
		}
		_ = enc.Encode(answer(req))
	}
	_ = out.Flush()
}
