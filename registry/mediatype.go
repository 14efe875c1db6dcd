package registry

// Media types of a manifest and its config, fixed by the Docker v2 schema that Ollama's registry speaks.
const (
	// MediaTypeManifest is the manifest's own media type.
	MediaTypeManifest = "application/vnd.docker.distribution.manifest.v2+json"
	// MediaTypeConfig is the media type of the config blob (a model.ConfigV2 JSON document).
	MediaTypeConfig = "application/vnd.docker.container.image.v1+json"
)

// Media types of Ollama's layers.
const (
	// MediaTypeModel is the GGUF weights.
	MediaTypeModel = "application/vnd.ollama.image.model"
	// MediaTypeAdapter is a LoRA adapter in GGUF.
	MediaTypeAdapter = "application/vnd.ollama.image.adapter"
	// MediaTypeProjector is a vision projector (mmproj) in GGUF.
	MediaTypeProjector = "application/vnd.ollama.image.projector"
	// MediaTypeTemplate is the Go text/template that renders prompts.
	MediaTypeTemplate = "application/vnd.ollama.image.template"
	// MediaTypePrompt is the legacy name of the template layer, still read.
	MediaTypePrompt = "application/vnd.ollama.image.prompt"
	// MediaTypeSystem is the default system prompt, as text.
	MediaTypeSystem = "application/vnd.ollama.image.system"
	// MediaTypeParams is a JSON object of default options.
	MediaTypeParams = "application/vnd.ollama.image.params"
	// MediaTypeMessages is a JSON array of api.Message prepended to every chat.
	MediaTypeMessages = "application/vnd.ollama.image.messages"
	// MediaTypeLicense is one license text; a model may carry several.
	MediaTypeLicense = "application/vnd.ollama.image.license"
	// MediaTypeEmbed is an obsolete layer Ollama ignores; so does hearth.
	MediaTypeEmbed = "application/vnd.ollama.image.embed"
	// MediaTypeTensor is one safetensors tensor of Ollama's experimental safetensors/MLX models.
	MediaTypeTensor = "application/vnd.ollama.image.tensor"
	// MediaTypeJSON is a JSON file (config.json, tokenizer.json, ...) of those models, with the layer
	// Name holding its relative path.
	MediaTypeJSON = "application/vnd.ollama.image.json"
)

// Media types of hearth's ONNX models, which Ollama does not run.
//
// An ONNX model is a directory, not a file: the graph (model.onnx), sometimes its external weights
// (model.onnx_data, referenced by relative path from inside the graph), the tokenizer and config files.
// Each file becomes one layer whose Name is its path relative to that directory, so the engine can
// rebuild the directory exactly (external-data references keep working), and the graph gets a type of
// its own so the entry point needs no guessing. The types are hearth's own rather than Ollama's
// tensor/json types on purpose: Ollama routes those to its safetensors engine, whereas a layer type it
// does not know is ignored, so Ollama lists, copies, deletes and garbage-collects an ONNX model
// correctly and only refuses to run it.
const (
	// MediaTypeONNXModel is the ONNX graph; Name is its relative path, e.g. "model.onnx" or
	// "onnx/model.onnx".
	MediaTypeONNXModel = "application/vnd.hearth.onnx.model"
	// MediaTypeONNXFile is any other file of an ONNX model (external weights, tokenizer.json,
	// config.json, vocab.txt, ...); Name is its relative path.
	MediaTypeONNXFile = "application/vnd.hearth.onnx.file"
)

// isONNXType reports whether a layer is part of an ONNX model, whose Name must then be a safe
// relative path (io/fs.ValidPath), since the engine recreates the directory from those names.
func isONNXType(mediaType string) bool {
	return mediaType == MediaTypeONNXModel || mediaType == MediaTypeONNXFile
}
