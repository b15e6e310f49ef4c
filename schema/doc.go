// Package schema compiles and validates the JSON Schemas that callers attach
// to function tools and response formats, and folds the constraints that
// lossy backends (Ollama) drop into descriptions the model still reads.
//
// Validation is strict and offline: a schema may only reference itself, and
// errors name the instance path and the violated keyword so the message can go
// back to the model or the user as is.
package schema
