package dev.usher.gate.workspace;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * The record that a directory name is taken, kept beside the workspaces in {@code <root>/.usher/claims}
 * under a key that ignores case (so {@code Report} and {@code report} cannot both exist, whatever the
 * file system). Creating the claim file exclusively is what makes a name unique across threads and
 * processes; the token in it tells this workspace apart from an earlier or later one with the same name.
 */
record Claim(String name, String token, Instant createdAt) {

    byte[] encode() {
        return ("name=" + name + "\ntoken=" + token + "\ncreatedAt=" + createdAt + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** The claim stored at {@code file}, or null if there is none or it was never completed (a crash). */
    static Claim read(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return null;
        }
        String name = null;
        String token = null;
        Instant createdAt = null;
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq < 0) {
                continue;
            }
            String value = line.substring(eq + 1);
            switch (line.substring(0, eq)) {
                case "name" -> name = value;
                case "token" -> token = value;
                case "createdAt" -> {
                    try {
                        createdAt = Instant.parse(value);
                    } catch (DateTimeParseException e) {
                        return null;
                    }
                }
                default -> {
                }
            }
        }
        return name == null || token == null || createdAt == null ? null : new Claim(name, token, createdAt);
    }
}
