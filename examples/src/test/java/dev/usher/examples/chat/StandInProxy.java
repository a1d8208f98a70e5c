package dev.usher.examples.chat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A stand-in reverse proxy for tests, doing what nginx's {@code proxy_pass} with
 * {@code proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for} does: it appends the address of the
 * client it sees to {@code X-Forwarded-For} (keeping what the client sent, which is how spoofed entries
 * reach the server) and sets {@code X-Forwarded-Proto}. Every test client is on loopback, so the address
 * the proxy "sees" is taken from the test-only header {@code X-Test-Peer} (removed before forwarding).
 * It connects to the server from {@code 127.0.0.2}, so the server can trust the proxy and not the tests'
 * direct clients on {@code 127.0.0.1}. One request per connection ({@code Connection: close} both ways).
 */
final class StandInProxy implements AutoCloseable {
    static final String PROXY_ADDRESS = "127.0.0.2";
    static final String PEER_HEADER = "X-Test-Peer";

    private final ServerSocket listener;
    private final int backendPort;
    private final String scheme;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "stand-in-proxy");
        t.setDaemon(true);
        return t;
    });

    StandInProxy(int backendPort, String scheme) throws IOException {
        this.backendPort = backendPort;
        this.scheme = scheme;
        this.listener = new ServerSocket(0, 200, InetAddress.getByName("127.0.0.1"));
        pool.execute(this::acceptLoop);
    }

    URI uri() {
        return URI.create("http://127.0.0.1:" + listener.getLocalPort());
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                pool.execute(() -> forward(client));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void forward(Socket client) {
        try (client; Socket backend = new Socket()) {
            InputStream in = client.getInputStream();
            String head = readHead(in);
            if (head == null) {
                return;
            }
            String[] lines = head.split("\r\n");
            List<String> headers = new ArrayList<>();
            String seenPeer = client.getInetAddress().getHostAddress();
            String forwardedFor = null;
            for (int i = 1; i < lines.length; i++) {
                String line = lines[i];
                int colon = line.indexOf(':');
                String name = colon < 0 ? "" : line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = colon < 0 ? "" : line.substring(colon + 1).trim();
                switch (name) {
                    case "x-test-peer" -> seenPeer = value;
                    case "x-forwarded-for" -> forwardedFor = forwardedFor == null ? value : forwardedFor + ", " + value;
                    case "connection", "keep-alive", "x-forwarded-proto" -> { }
                    default -> headers.add(line);
                }
            }
            StringBuilder out = new StringBuilder(lines[0]).append("\r\n");
            headers.forEach(h -> out.append(h).append("\r\n"));
            out.append("X-Forwarded-For: ").append(forwardedFor == null ? seenPeer : forwardedFor + ", " + seenPeer).append("\r\n");
            out.append("X-Forwarded-Proto: ").append(scheme).append("\r\n");
            out.append("Connection: close\r\n\r\n");

            backend.bind(new InetSocketAddress(InetAddress.getByName(PROXY_ADDRESS), 0));
            backend.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), backendPort));
            OutputStream toBackend = backend.getOutputStream();
            toBackend.write(out.toString().getBytes(StandardCharsets.ISO_8859_1));
            toBackend.flush();
            pool.execute(() -> {
                try {
                    in.transferTo(toBackend); // the request body, if any
                } catch (IOException e) {
                    // either side closed
                }
            });
            // Relay the response with "Connection: close", so the client does not reuse this connection.
            InputStream fromBackend = backend.getInputStream();
            String responseHead = readHead(fromBackend);
            if (responseHead == null) {
                return;
            }
            StringBuilder relayed = new StringBuilder();
            for (String line : responseHead.split("\r\n")) {
                if (!line.toLowerCase(Locale.ROOT).startsWith("connection:")) {
                    relayed.append(line).append("\r\n");
                }
            }
            relayed.append("Connection: close\r\n\r\n");
            OutputStream toClient = client.getOutputStream();
            toClient.write(relayed.toString().getBytes(StandardCharsets.ISO_8859_1));
            fromBackend.transferTo(toClient);
        } catch (IOException e) {
            // a side went away; the test sees it as a failed request
        }
    }

    /** The request line and headers, up to the empty line; null at end of stream. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        int b;
        while ((b = in.read()) != -1) {
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
            if (matched == 4) {
                String s = head.toString(StandardCharsets.ISO_8859_1);
                return s.substring(0, s.length() - 4);
            }
            if (head.size() > 64 * 1024) {
                return null;
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        listener.close();
        pool.shutdownNow();
    }
}
