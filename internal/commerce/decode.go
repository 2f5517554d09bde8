package commerce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// decodeJSON reads the request body into v strictly: the content type must
// be application/json (else 415), and the body one JSON value (else 400)
// whose fields v knows and whose types fit (else 422 naming the field).
func decodeJSON(c *fiber.Ctx, v any) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "Send the request body as application/json.")
	}
	return decodeStrict(c.Body(), v)
}

// decodeStrict is decodeJSON without the content type: the errors are
// *fiber.Error 400 for a body that is not one JSON value, and fault errors
// naming the JSON path of an unknown field or a value of the wrong type.
func decodeStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fiber.NewError(fiber.StatusBadRequest, "The request body is empty; send a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			return fiber.NewError(fiber.StatusBadRequest, "The request body must hold a single JSON value.")
		}
		return nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fiber.NewError(fiber.StatusBadRequest, fmt.Sprintf("The request body is not valid JSON: %s (at byte %d).", se.Error(), se.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fiber.NewError(fiber.StatusBadRequest, fmt.Sprintf("The request body is not valid JSON: it ends early (at byte %d).", len(data)))
	case errors.As(err, &te):
		path := pathAt(data, te.Offset)
		if path == "" && te.Field == "" {
			return fault.Errorf(fault.Invalid, "The request body must be %s.", describe(te.Type))
		}
		if path == "" {
			path = te.Field
		}
		return fault.Field(path, "must be "+describe(te.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		path := unknownField(data, reflect.TypeOf(v))
		if path == "" {
			path = strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		}
		if path == "" {
			path = `""` // the key is empty: name it so the problem still names a field
		}
		return fault.Field(path, "is not a known field")
	}
	return fmt.Errorf("commerce: decode json: %w", err)
}

// describe names a Go type as the JSON a client should send.
func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Pointer:
		return describe(t.Elem())
	}
	return "of another type"
}

// segment is one step of a JSON path: an object key or an array index.
type segment struct {
	key   string
	index int
	array bool
}

func formatPath(path []segment) string {
	var b strings.Builder
	for _, s := range path {
		if s.array {
			fmt.Fprintf(&b, "[%d]", s.index)
		} else {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		}
	}
	return b.String()
}

// maxPathDepth bounds the paths walkJSON reports: the API's types are a few
// levels deep, and building deeper paths would make a hostile, deeply nested
// body cost quadratic time.
const maxPathDepth = 16

// walkJSON calls visit for every key and value of a JSON document no deeper
// than maxPathDepth, in order, with its path and the offset just past its
// first token, until visit returns false or the document ends (or turns out
// malformed).
func walkJSON(data []byte, visit func(path []segment, isKey bool, end int64) bool) {
	type frame struct {
		segment
		wantKey bool
	}
	var stack []frame
	path := func() []segment {
		p := make([]segment, len(stack))
		for i, f := range stack {
			p[i] = f.segment
		}
		return p
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		end := dec.InputOffset()
		d, isDelim := tok.(json.Delim)
		if isDelim && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if n := len(stack); n > 0 && !stack[n-1].array {
				stack[n-1].wantKey = true
			}
			continue
		}
		if n := len(stack); n > 0 {
			top := &stack[n-1]
			if !top.array && top.wantKey {
				top.key, top.wantKey = tok.(string), false
				if n <= maxPathDepth && !visit(path(), true, end) {
					return
				}
				continue
			}
			if top.array {
				top.index++
			}
		}
		if len(stack) <= maxPathDepth && !visit(path(), false, end) {
			return
		}
		if isDelim {
			stack = append(stack, frame{segment: segment{array: d == '[', index: -1}, wantKey: d == '{'})
		} else if n := len(stack); n > 0 && !stack[n-1].array {
			stack[n-1].wantKey = true
		}
	}
}

// pathAt returns the JSON path of the value that ends at offset (as
// json.UnmarshalTypeError reports it), or "" for the whole document.
func pathAt(data []byte, offset int64) string {
	found := ""
	walkJSON(data, func(path []segment, isKey bool, end int64) bool {
		if !isKey && end >= offset {
			found = formatPath(path)
			return false
		}
		return true
	})
	return found
}

// unknownField returns the JSON path of the first key that the type t
// (where the document is decoded to) has no field for.
func unknownField(data []byte, t reflect.Type) string {
	found := ""
	walkJSON(data, func(path []segment, isKey bool, _ int64) bool {
		if !isKey {
			return true
		}
		parent := typeAt(t, path[:len(path)-1])
		if parent == nil || parent.Kind() != reflect.Struct || hasJSONField(parent, path[len(path)-1].key) {
			return true
		}
		found = formatPath(path)
		return false
	})
	return found
}

// typeAt follows path through t, or returns nil where the two part ways.
func typeAt(t reflect.Type, path []segment) reflect.Type {
	for _, s := range path {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case s.array && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
			t = t.Elem()
		case !s.array && t.Kind() == reflect.Map:
			t = t.Elem()
		case !s.array && t.Kind() == reflect.Struct:
			f, ok := jsonField(t, s.key)
			if !ok {
				return nil
			}
			t = f.Type
		default:
			return nil
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func hasJSONField(t reflect.Type, key string) bool { _, ok := jsonField(t, key); return ok }

// jsonField finds the field encoding/json fills for key: by tag or name,
// ignoring case as encoding/json does.
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
