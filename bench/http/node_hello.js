// The Node.js peer: its http module, one process. usage: node node_hello.js PORT
require('http').createServer((req, res) => {
  res.writeHead(200, {'Content-Type': 'text/plain'});
  res.end('Hello, World!');
}).listen(Number(process.argv[2]), '127.0.0.1');
