package lambda

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

// client is the Runtime API's HTTP/1.1 over one kept-alive connection: the
// daemon's answers always carry Content-Length. Written on net alone, not
// net/http, so that a function builds (and starts) quickly.
type client struct {
	conn net.Conn
	r    *bufio.Reader
}

func dial(addr string) (*client, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &client{conn: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

// do sends one request and reads its answer: status, headers (lower-case
// names) and body. A broken connection ends the process: the daemon is gone.
func (c *client) do(method, path, errType string, body []byte) (int, map[string]string, []byte) {
	head := method + " " + path + " HTTP/1.1\r\nHost: runtime\r\nContent-Type: application/json\r\n"
	if errType != "" {
		head += "Lambda-Runtime-Function-Error-Type: " + errType + "\r\n"
	}
	if body != nil || method == "POST" {
		head += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	if _, err := c.conn.Write(append([]byte(head+"\r\n"), body...)); err != nil {
		gone(err)
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		gone(err)
	}
	parts := strings.SplitN(strings.TrimSpace(line), " ", 3)
	status := 0
	if len(parts) >= 2 {
		status, _ = strconv.Atoi(parts[1])
	}
	headers := map[string]string{}
	for {
		line, err = c.r.ReadString('\n')
		if err != nil {
			gone(err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if i := strings.IndexByte(line, ':'); i > 0 {
			headers[strings.ToLower(line[:i])] = strings.TrimSpace(line[i+1:])
		}
	}
	n, _ := strconv.Atoi(headers["content-length"])
	data := make([]byte, n)
	if _, err := io.ReadFull(c.r, data); err != nil {
		gone(err)
	}
	return status, headers, data
}

func (c *client) post(path, errType string, body []byte) {
	c.do("POST", path, errType, body)
}

func gone(err error) {
	fmt.Fprintln(os.Stderr, "impuls: the Runtime API is gone:", err)
	os.Exit(1)
}
