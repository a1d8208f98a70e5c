package dev.usher.servlet;

/** A real servlet container on a free loopback port with one filter and one servlet under {@code /work/*}. */
interface ContainerHarness extends AutoCloseable {
    int port();

    default String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    @Override
    void close() throws Exception;
}
