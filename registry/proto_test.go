// SPDX-License-Identifier: Apache-2.0

package registry

import (
	"google.golang.org/protobuf/proto"
)

func protoMarshal(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}
