package dev.usher.examples.chat;

import java.io.IOException;

/**
 * The example server as a child process of a test: it runs until its standard input closes, which happens
 * when the test JVM ends in any way, so a killed test run never leaves a server behind.
 */
final class ServerProcess {
    private ServerProcess() {
    }

    public static void main(String[] args) throws IOException {
        ChatServer server = ChatServer.start(Config.fromEnvironment());
        System.out.printf("listening on http://localhost:%d/%n", server.port());
        System.out.flush();
        while (System.in.read() >= 0) {
            // nothing is sent; EOF means the parent is gone
        }
        server.close();
        System.exit(0);
    }
}
