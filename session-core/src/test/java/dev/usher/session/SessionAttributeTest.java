package dev.usher.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SessionAttributeTest {
    enum Plan { FREE, PRO }

    private final Session empty = new Session("id", null, Instant.now(), Instant.now(), Duration.ofMinutes(1),
            Instant.now().plusSeconds(60), 1, Map.of());

    @Test
    void everyKindRoundTripsThroughItsStringForm() {
        SessionAttribute<String> name = SessionAttribute.ofString("name");
        SessionAttribute<Integer> visits = SessionAttribute.ofInt("visits");
        SessionAttribute<Long> bytes = SessionAttribute.ofLong("bytes");
        SessionAttribute<Boolean> admin = SessionAttribute.ofBoolean("admin");
        SessionAttribute<Plan> plan = SessionAttribute.ofEnum("plan", Plan.class);
        SessionAttribute<Path> dir = SessionAttribute.ofPath("dir");
        Session s = empty.withAttribute(name, "김민수").withAttribute(visits, -7).withAttribute(bytes, Long.MAX_VALUE)
                .withAttribute(admin, true).withAttribute(plan, Plan.PRO).withAttribute(dir, Path.of("ws", "프로젝트_1"));
        assertThat(s.attributes()).containsEntry("visits", "-7").containsEntry("admin", "true").containsEntry("plan", "PRO");
        assertThat(s.attribute(name)).contains("김민수");
        assertThat(s.attribute(visits)).contains(-7);
        assertThat(s.attribute(bytes)).contains(Long.MAX_VALUE);
        assertThat(s.attribute(admin)).contains(true);
        assertThat(s.attribute(plan)).contains(Plan.PRO);
        assertThat(s.attribute(dir)).contains(Path.of("ws", "프로젝트_1"));
        assertThat(empty.attribute(visits)).isEmpty();
    }

    @Test
    void aValueOfTheWrongKindFailsNamingTheAttribute() {
        Session s = empty.withAttribute("visits", "many").withAttribute("admin", "yes").withAttribute("plan", "GOLD");
        assertThatThrownBy(() -> s.attribute(SessionAttribute.ofInt("visits")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("visits").hasMessageContaining("many");
        assertThatThrownBy(() -> s.attribute(SessionAttribute.ofBoolean("admin"))).hasMessageContaining("admin");
        assertThatThrownBy(() -> s.attribute(SessionAttribute.ofEnum("plan", Plan.class))).hasMessageContaining("GOLD");
        assertThatThrownBy(() -> SessionAttribute.ofString("")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sessionsAreImmutableAndNormalisedToMilliseconds() {
        Instant precise = Instant.parse("2026-01-01T00:00:00.123456789Z");
        Session s = new Session("id", null, precise, precise, Duration.ofNanos(1_500_000_000L), precise, 1, Map.of("a", "b"));
        assertThat(s.createdAt()).isEqualTo(Instant.parse("2026-01-01T00:00:00.123Z"));
        assertThat(s.idleTimeout()).isEqualTo(Duration.ofMillis(1500));
        assertThat(s.withAttribute("c", "d").attributes()).containsOnlyKeys("a", "c");
        assertThat(s.attributes()).containsOnlyKeys("a");
        assertThatThrownBy(() -> s.attributes().put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
    }
}
