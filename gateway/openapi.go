package gateway

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// openapiYAML is the API's OpenAPI 3 document, kept as YAML for people and
// served as JSON at GET /v1/openapi.json.
//
//go:embed openapi.yaml
var openapiYAML []byte

var (
	openapiOnce sync.Once
	openapiDoc  []byte
)

// OpenAPI returns the parsed and validated OpenAPI document.
func OpenAPI() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate openapi.yaml: %w", err)
	}
	return doc, nil
}

// openAPIJSON renders the document once. The document is embedded and
// checked by the tests, so a failure here is a build defect: it panics at
// start rather than serve a wrong contract.
func openAPIJSON() []byte {
	openapiOnce.Do(func() {
		doc, err := OpenAPI()
		if err != nil {
			panic(fmt.Sprintf("gateway: %v", err))
		}
		if openapiDoc, err = json.Marshal(doc); err != nil {
			panic(fmt.Sprintf("gateway: encode openapi document: %v", err))
		}
	})
	return openapiDoc
}

// getOpenAPI serves the document: GET /v1/openapi.json.
func (s *Server) getOpenAPI(*call) reply {
	return reply{status: http.StatusOK, body: s.openapi}
}
