package dev.usher.gate.workspace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class WorkspaceNamesTest {
    private static final String THUMBS_UP_DARK = "\uD83D\uDC4D\uD83C\uDFFF";          // 👍🏿
    private static final String FAMILY = "\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67"; // 👨‍👩‍👧
    private static final String FLAG_KR = "\uD83C\uDDF0\uD83C\uDDF7";                 // 🇰🇷

    @Test
    void hundredHangulSyllablesAreCutToWholeSyllablesWithinTheByteLimit() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            b.append((char) (0xAC00 + i * 37));
        }
        String name = WorkspaceNames.sanitize(b.toString(), 122, "workspace");

        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        assertThat(utf8.length).isLessThanOrEqualTo(122).isGreaterThan(122 - 3);
        assertThat(new String(utf8, StandardCharsets.UTF_8)).isEqualTo(name); // valid UTF-8, nothing split
        assertThat(b.toString()).startsWith(name);
        assertThat(name.codePoints()).allMatch(cp -> cp >= 0xAC00 && cp <= 0xD7A3);
    }

    @Test
    void decomposedHangulIsComposedFirstAndJamoAreNeverSeparated() {
        // 한 as conjoining jamo (ᄒ ᅡ ᆫ), repeated: NFC turns each into one syllable.
        String decomposed = "\u1112\u1161\u11AB".repeat(50);
        assertThat(WorkspaceNames.sanitize(decomposed, 30, "x")).isEqualTo("한".repeat(10));
        // Old-Hangul jamo with no precomposed form stay as sequences and are cut between them.
        String archaic = "\u1112\u119E\u11AB".repeat(20); // ᄒ ᆞ ᆫ
        String cut = WorkspaceNames.cut(archaic, 20);
        assertThat(cut.length() % 3).isZero();
        assertThat(cut).isEqualTo("\u1112\u119E\u11AB".repeat(2));
    }

    @Test
    void emojiWithSkinToneModifiersAreNeverSplit() {
        String name = THUMBS_UP_DARK.repeat(20); // 8 bytes each
        for (int limit = 8; limit <= 40; limit++) {
            String cut = WorkspaceNames.cut(name, limit);
            assertThat(cut.length() % THUMBS_UP_DARK.length()).as("limit %d", limit).isZero();
            assertThat(cut.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(limit).isGreaterThan(limit - 8);
        }
        assertThat(WorkspaceNames.sanitize("보고서 " + THUMBS_UP_DARK.repeat(30), 64, "x"))
                .matches("보고서 (" + THUMBS_UP_DARK + ")+");
    }

    @Test
    void zwjSequencesFlagsAndVariationSelectorsAreNeverSplit() {
        String family = FAMILY.repeat(10); // 18 bytes each
        for (int limit = 18; limit < 60; limit++) {
            assertThat(WorkspaceNames.cut(family, limit).length() % FAMILY.length()).isZero();
        }
        String flags = FLAG_KR.repeat(10); // 8 bytes each
        for (int limit = 4; limit < 40; limit++) {
            assertThat(WorkspaceNames.cut(flags, limit).length() % FLAG_KR.length()).isZero();
        }
        String heart = "\u2764\uFE0F"; // ❤️, 6 bytes
        assertThat(WorkspaceNames.cut(heart.repeat(5), 11)).isEqualTo(heart);
    }

    @Test
    void combiningMarksStayWithTheirBase() {
        // e + three combining marks has no precomposed form, so it stays 4 code points (7 bytes) after NFC.
        String cluster = "e\u0301\u0323\u0308";
        assertThat(Normalizer.normalize(cluster, Normalizer.Form.NFC).length()).isGreaterThan(1);
        String name = ("a" + cluster).repeat(10);
        for (int limit = 1; limit < 40; limit++) {
            String cut = WorkspaceNames.cut(Normalizer.normalize(name, Normalizer.Form.NFC), limit);
            assertThat(Character.getType(cut.isEmpty() ? 'a' : cut.codePointBefore(cut.length())))
                    .as("limit %d ends on a base or a complete cluster: %s", limit, cut)
                    .satisfiesAnyOf(
                            t -> assertThat(cut).isEmpty(),
                            t -> assertThat(cut.charAt(cut.length() - 1)).isEqualTo('a'),
                            t -> assertThat(cut).endsWith(Normalizer.normalize(cluster, Normalizer.Form.NFC)));
        }
        // Decomposed é becomes one precomposed character.
        assertThat(WorkspaceNames.sanitize("Cafe\u0301", 64, "x")).isEqualTo("Caf\u00e9");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "CON|_CON",
            "con|_con",
            "nul.txt|_nul.txt",
            "Com1|_Com1",
            "COM9.tar.gz|_COM9.tar.gz",
            "lpt1|_lpt1",
            "AUX .txt|_AUX .txt",
            "PRN|_PRN",
            "CONIN$|_CONIN$",
            "console|console",
            "COM10|COM10",
            "nul_report|nul_report",
    })
    void windowsReservedNamesAreMadeSafeInAnyCaseAndWithAnyExtension(String input, String expected) {
        String name = WorkspaceNames.sanitize(input, 64, "workspace");
        assertThat(name).isEqualTo(expected);
        assertThat(WorkspaceNames.isReserved(name)).isFalse();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "..|workspace",
            ".|workspace",
            "...hidden|hidden",
            "trailing...|trailing",
            "'trailing . . '|trailing",
            "'  lots   of \t spaces \n here  '|lots of spaces here",
            "'../../etc/passwd'|etcpasswd",
            "'C:\\Windows\\System32'|CWindowsSystem32",
            "''|workspace",
            "'   '|workspace",
            "'<>:\"/\\|?*'|workspace",
    })
    void dotsSpacesAndForbiddenCharactersAreRemoved(String input, String expected) {
        assertThat(WorkspaceNames.sanitize(input, 64, "workspace")).isEqualTo(expected);
    }

    @Test
    void everyCharacterWindowsForbidsIsRemoved() {
        assertThat(WorkspaceNames.sanitize("a<b>c:d\"e/f\\g|h?i*j", 64, "w")).isEqualTo("abcdefghij");
    }

    @Test
    void controlAndDirectionCharactersAreRemovedAndNullBecomesTheDefault() {
        assertThat(WorkspaceNames.sanitize("a\u0000b\u0007c\u007F\u0085d", 64, "w")).isEqualTo("abcd");
        assertThat(WorkspaceNames.sanitize("invoice\u202Efdp.exe", 64, "w")).isEqualTo("invoicefdp.exe");
        assertThat(WorkspaceNames.sanitize("line\u2028two", 64, "w")).isEqualTo("line two");
        assertThat(WorkspaceNames.sanitize("lone\uD800surrogate", 64, "w")).isEqualTo("lonesurrogate");
        assertThat(WorkspaceNames.sanitize(null, 64, "w")).isEqualTo("w");
        assertThat(WorkspaceNames.sanitize("\u3000全角\u3000スペース\u3000", 64, "w")).isEqualTo("全角 スペース");
    }

    @Test
    void aCutNeverLeavesTrailingDotsOrSpaces() {
        assertThat(WorkspaceNames.sanitize("abc. . . defghij", 8, "w")).isEqualTo("abc");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Report", "report", "REPORT", "rEpOrT"})
    void claimKeysIgnoreCase(String name) {
        assertThat(WorkspaceNames.claimKey(name)).isEqualTo(WorkspaceNames.claimKey("report"));
    }

    @Test
    void claimKeysFoldBeyondAscii() {
        assertThat(WorkspaceNames.claimKey("STRASSE")).isEqualTo(WorkspaceNames.claimKey("straße"));
        assertThat(WorkspaceNames.claimKey("ΣΟΦΙΑ")).isEqualTo(WorkspaceNames.claimKey("σοφια"));
        assertThat(WorkspaceNames.claimKey("보고서")).isNotEqualTo(WorkspaceNames.claimKey("보고서_1"));
    }

    @Test
    void longNamesInEveryScriptBecomeRealDirectoriesWithRoomForTheSuffix(@TempDir Path root) {
        try (SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
             WorkspaceAllocator allocator = WorkspaceAllocator.builder(root, sessions)
                     .maxNameBytes(255).sweepInterval(Duration.ZERO).build()) {
            String[] suggestions = {
                    "가".repeat(100), "日本語のプロジェクト名".repeat(20), THUMBS_UP_DARK.repeat(60),
                    FAMILY.repeat(30), ("e\u0301\u0323").repeat(200), "x".repeat(1000)};
            for (String suggestion : suggestions) {
                for (int copy = 0; copy < 3; copy++) {
                    Session s = sessions.create(null, Map.of());
                    Workspace w = allocator.workspaceFor(s, suggestion);
                    assertThat(w.name().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(255);
                    assertThat(Files.isDirectory(w.directory())).isTrue();
                    assertThat(w.directory().getParent()).isEqualTo(allocator.root());
                    if (copy > 0) {
                        assertThat(w.name()).endsWith("_" + copy);
                    }
                }
            }
        }
    }
}
