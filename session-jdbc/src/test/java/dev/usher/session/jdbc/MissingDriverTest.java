package dev.usher.session.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * sqlite-jdbc is an optional dependency: a host that uses the SQLite default without it gets an error naming
 * the artifact to add. Runs a JVM with this test's class path minus the sqlite-jdbc jar.
 */
class MissingDriverTest {
    @Test
    void theSqliteDefaultWithoutTheDriverNamesTheMissingArtifact() throws Exception {
        String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !Path.of(entry).getFileName().toString().startsWith("sqlite-jdbc"))
                .collect(Collectors.joining(File.pathSeparator));
        assertThat(classPath).as("the driver was on the class path").isNotEqualTo(System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPath, MissingDriverMain.class.getName()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(output).contains("THROWN java.lang.IllegalStateException").contains("org.xerial:sqlite-jdbc")
                .doesNotContain("BUILT");
    }
}
