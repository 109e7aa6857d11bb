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
// net/http, so that a function builds (and starts) quickly. The daemon
// closes a connection idle for 30 s (a handler that runs that long) or after
// refusing a request: a request that finds it closed is sent once more on a
// new one, as the Node and Python runtimes do.
type client struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
}

func dial(addr string) (*client, error) {
	c := &client{addr: addr}
	return c, c.connect()
}

func (c *client) connect() error {
	if c.conn != nil {
		c.conn.Close()
	}
	conn, err := net.Dial("tcp", c.addr)
	if err != nil {
		return err
	}
	c.conn, c.r = conn, bufio.NewReaderSize(conn, 64<<10)
	return nil
}

// do sends one request and reads its answer: status, headers (lower-case
// names) and body. Gone for good (a second try fails too): the process
// ends, the daemon is gone.
func (c *client) do(method, path, errType string, body []byte) (int, map[string]string, []byte) {
	return c.request(method, path, errType, "", body)
}

// next posts an outcome and gets the next event in the same exchange
// (Impuls-Next): 200 and the event, or the post's refusal.
func (c *client) next(path, errType string, body []byte) (int, map[string]string, []byte) {
	return c.request("POST", path, errType, "Impuls-Next: 1\r\n", body)
}

func (c *client) request(method, path, errType, extra string, body []byte) (int, map[string]string, []byte) {
	status, headers, data, err := c.exchange(method, path, errType, extra, body)
	if err != nil {
		if err = c.connect(); err == nil {
			status, headers, data, err = c.exchange(method, path, errType, extra, body)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "impuls: the Runtime API is gone:", err)
		os.Exit(1)
	}
	if headers["connection"] == "close" {
		c.connect() // the next request needs a new one; an error shows then
	}
	return status, headers, data
}

func (c *client) exchange(method, path, errType, extra string, body []byte) (int, map[string]string, []byte, error) {
	head := method + " " + path + " HTTP/1.1\r\nHost: runtime\r\nContent-Type: application/json\r\n" + extra
	if errType != "" {
		head += "Lambda-Runtime-Function-Error-Type: " + errType + "\r\n"
	}
	if body != nil || method == "POST" {
		head += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	if _, err := c.conn.Write(append([]byte(head+"\r\n"), body...)); err != nil {
		return 0, nil, nil, err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return 0, nil, nil, err
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
			return 0, nil, nil, err
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
		return 0, nil, nil, err
	}
	return status, headers, data, nil
}

func (c *client) post(path, errType string, body []byte) {
	c.do("POST", path, errType, body)
}
