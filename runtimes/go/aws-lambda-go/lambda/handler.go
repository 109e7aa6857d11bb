package lambda

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
)

// handlerFunc calls a user's handler with the event's JSON and returns its
// result's JSON, whatever signature the handler has among those
// aws-lambda-go accepts:
//
//	func ()
//	func () error
//	func (TIn) error
//	func () (TOut, error)
//	func (TIn) (TOut, error)
//	func (context.Context) error
//	func (context.Context, TIn) error
//	func (context.Context) (TOut, error)
//	func (context.Context, TIn) (TOut, error)
type handlerFunc func(ctx context.Context, payload []byte) ([]byte, error)

var (
	contextType = reflect.TypeOf((*context.Context)(nil)).Elem()
	errorType   = reflect.TypeOf((*error)(nil)).Elem()
)

func newHandler(handler interface{}) (handlerFunc, error) {
	if handler == nil {
		return nil, fmt.Errorf("handler is nil")
	}
	fn := reflect.ValueOf(handler)
	t := fn.Type()
	if t.Kind() != reflect.Func {
		return nil, fmt.Errorf("handler kind %s is not func", t.Kind())
	}
	takesContext := t.NumIn() > 0 && t.In(0).Implements(contextType)
	switch {
	case t.NumIn() > 2:
		return nil, fmt.Errorf("handlers may not take more than two arguments, but handler takes %d", t.NumIn())
	case t.NumIn() == 2 && !takesContext:
		return nil, fmt.Errorf("handler takes two arguments, but the first is not Context. got %s", t.In(0).Kind())
	}
	switch {
	case t.NumOut() > 2:
		return nil, fmt.Errorf("handler may not return more than two values")
	case t.NumOut() == 2 && !t.Out(1).Implements(errorType):
		return nil, fmt.Errorf("handler returns two values, but the second does not implement error")
	case t.NumOut() == 1 && !t.Out(0).Implements(errorType):
		return nil, fmt.Errorf("handler returns a single value, but it does not implement error")
	}
	var eventType reflect.Type
	if t.NumIn() == 2 || (t.NumIn() == 1 && !takesContext) {
		eventType = t.In(t.NumIn() - 1)
	}
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var args []reflect.Value
		if takesContext {
			args = append(args, reflect.ValueOf(ctx))
		}
		if eventType != nil {
			event := reflect.New(eventType)
			if err := json.Unmarshal(payload, event.Interface()); err != nil {
				return nil, err
			}
			args = append(args, event.Elem())
		}
		out := fn.Call(args)
		var err error
		if len(out) > 0 {
			if e, ok := out[len(out)-1].Interface().(error); ok && e != nil {
				err = e
			}
		}
		if err != nil {
			return nil, err
		}
		var result interface{}
		if len(out) == 2 {
			result = out[0].Interface()
		}
		return json.Marshal(result)
	}, nil
}
