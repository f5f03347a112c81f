// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	akashiv1 "github.com/akashi-ledger/akashi/gen/akashi/v1"
)

// parseRecord reads a Record in its protobuf JSON form (field names as in
// the .proto or in lowerCamelCase, enums by name, int64 as numbers or
// strings) from JSON or YAML. Unknown fields are errors.
func parseRecord(b []byte) (*akashiv1.Record, error) {
	j, err := toJSON(b)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return recordFromJSON(v)
}

// recordFromJSON makes a Record from a JSON value, after writing the
// numbers given for string fields (a YAML jurisdiction: 130001) as strings.
func recordFromJSON(v any) (*akashiv1.Record, error) {
	r := new(akashiv1.Record)
	j, err := json.Marshal(coerce(v, r.ProtoReflect().Descriptor()))
	if err != nil {
		return nil, err
	}
	if err := protojson.Unmarshal(j, r); err != nil {
		return nil, fmt.Errorf("not an akashi.v1.Record: %w", err)
	}
	return r, nil
}

// coerce rewrites numbers given for string fields of md as strings.
func coerce(v any, md protoreflect.MessageDescriptor) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, x := range obj {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(k))
		}
		if fd == nil {
			continue
		}
		one := func(x any) any {
			switch {
			case fd.Kind() == protoreflect.StringKind:
				switch n := x.(type) {
				case json.Number:
					return n.String()
				case float64:
					return strconv.FormatFloat(n, 'f', -1, 64)
				}
			case fd.Kind() == protoreflect.MessageKind:
				return coerce(x, fd.Message())
			}
			return x
		}
		if list, ok := x.([]any); ok && fd.IsList() {
			for i := range list {
				list[i] = one(list[i])
			}
			continue
		}
		obj[k] = one(x)
	}
	return obj
}

// toJSON returns b as JSON: b itself when it is JSON, else b read as YAML.
func toJSON(b []byte) ([]byte, error) {
	t := bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t) {
		return t, nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("neither JSON nor YAML: %w", err)
	}
	v, err := yamlValue(&n)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// yamlValue converts a YAML node to a JSON value. Scalars keep their text
// (a date stays "2020-04-07"); only YAML's integers, floats, booleans and
// nulls become JSON numbers, booleans and null.
func yamlValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValue(n.Content[0])
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a mapping key must be a string", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			v, err := yamlValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.AliasNode:
		return yamlValue(n.Alias)
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return json.Number(strings.ReplaceAll(n.Value, "_", "")), nil
		case "!!bool":
			return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", nil
		case "!!null":
			return nil, nil
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML", n.Line)
}
