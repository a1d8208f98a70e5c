package dev.usher.session.spring;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME;

import dev.usher.session.AttributeLimits;
import dev.usher.session.OwnerLimitPolicy;
import dev.usher.session.Session;
import dev.usher.session.SessionLimitException;
import dev.usher.session.spring.Instances.Instance;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.session.events.SessionCreatedEvent;
import org.springframework.session.events.SessionDeletedEvent;
import org.springframework.session.events.SessionExpiredEvent;

/**
 * Spring Session's repository scenarios (the ones its Redis and JDBC repository integration tests walk
 * through: save and find, attribute changes, delete, changeSessionId, expiry, last access, max inactive
 * interval, find by principal name), written anew against {@link UsherSessionRepository} and run on every
 * Usher store.
 */
@Tag("server")
class UsherSessionRepositoryTest {
    @TempDir
    Path dir;
    private Instances instances;

    @AfterEach
    void close() {
        if (instances != null) {
            instances.close();
        }
    }

    private Instance start(Backend backend) {
        instances = new Instances(backend, dir);
        return instances.start();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void savedSessionIsFoundWithItsAttributesAndTimes(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        UsherSpringSession created = repository.createSession();
        created.setAttribute("name", "Ada");
        repository.save(created);

        UsherSpringSession found = repository.findById(created.getId());
        assertThat(found.getId()).isEqualTo(created.getId()).hasSize(43);
        assertThat(found.<String>getAttribute("name")).isEqualTo("Ada");
        assertThat(found.getAttributeNames()).containsExactly("name");
        assertThat(found.getCreationTime()).isEqualTo(created.getCreationTime());
        assertThat(found.getMaxInactiveInterval()).isEqualTo(Instances.IDLE);
        assertThat(found.getLastAccessedTime()).isEqualTo(instances.clock.instant());
        assertThat(found.isExpired()).isFalse();
        assertThat(found.owner()).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void createdSessionExistsBeforeItsFirstSaveAndAnnouncesItself(Backend backend) {
        Instance instance = start(backend);
        UsherSpringSession created = instance.repository().createSession();
        assertThat(instance.repository().findById(created.getId())).isNotNull();
        assertThat(instance.eventsOf(SessionCreatedEvent.class)).singleElement()
                .satisfies(e -> assertThat(e.getSessionId()).isEqualTo(created.getId()));
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void savingOneAttributeKeepsTheOthers(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        UsherSpringSession s = repository.createSession();
        s.setAttribute("a", "1");
        repository.save(s);
        UsherSpringSession again = repository.findById(s.getId());
        again.setAttribute("b", "2");
        repository.save(again);
        assertThat(repository.findById(s.getId()).getAttributeNames()).containsExactlyInAnyOrder("a", "b");
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void removedAndNulledAttributesAreGoneAfterSave(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        UsherSpringSession s = repository.createSession();
        s.setAttribute("a", "1");
        s.setAttribute("b", "2");
        s.setAttribute("c", "3");
        repository.save(s);
        UsherSpringSession loaded = repository.findById(s.getId());
        loaded.removeAttribute("a");
        loaded.setAttribute("b", null);
        assertThat(loaded.getAttributeNames()).containsExactly("c");
        repository.save(loaded);
        UsherSpringSession found = repository.findById(s.getId());
        assertThat(found.getAttributeNames()).containsExactly("c");
        assertThat(found.<Object>getAttribute("a")).isNull();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void deletedSessionIsNotFoundAndAnnouncedOnce(Backend backend) {
        Instance instance = start(backend);
        UsherSessionRepository repository = instance.repository();
        UsherSpringSession s = repository.createSession();
        repository.deleteById(s.getId());
        repository.deleteById(s.getId());
        assertThat(repository.findById(s.getId())).isNull();
        assertThat(instance.eventsOf(SessionDeletedEvent.class)).singleElement()
                .satisfies(e -> assertThat(e.getSessionId()).isEqualTo(s.getId()));
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void unknownMalformedAndNullIdsFindNothingAndDeleteNothing(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        String unknown = "A".repeat(43);
        assertThat(repository.findById(unknown)).isNull();
        assertThat(repository.findById("not-an-id")).isNull();
        assertThat(repository.findById("")).isNull();
        assertThat(repository.findById(null)).isNull();
        repository.deleteById(unknown);
        repository.deleteById("../../etc/passwd");
        repository.deleteById(null);
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void savingChangesToADeletedSessionFailsAndResurrectsNothing(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        UsherSpringSession s = repository.createSession();
        UsherSpringSession loaded = repository.findById(s.getId());
        repository.deleteById(s.getId());

        repository.save(loaded); // nothing changed: nothing to write, nothing to complain about
        loaded.setAttribute("late", "write");
        assertThatThrownBy(() -> repository.save(loaded)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("was deleted or has expired").hasMessageContaining("[late]")
                .hasMessageNotContaining(s.getId());
        assertThat(repository.findById(s.getId())).isNull();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void changeSessionIdMovesTheSessionAndItsPendingChanges(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        UsherSpringSession s = repository.createSession();
        s.setAttribute("kept", "yes");
        repository.save(s);
        String oldId = s.getId();

        UsherSpringSession loaded = repository.findById(oldId);
        loaded.setAttribute("pending", "also");
        String newId = loaded.changeSessionId();
        assertThat(newId).isNotEqualTo(oldId).hasSize(43).isEqualTo(loaded.getId());
        assertThat(repository.findById(oldId)).isNull();
        repository.save(loaded);

        UsherSpringSession found = repository.findById(newId);
        assertThat(found.<String>getAttribute("kept")).isEqualTo("yes");
        assertThat(found.<String>getAttribute("pending")).isEqualTo("also");
        assertThat(found.getCreationTime()).isEqualTo(s.getCreationTime());

        String third = found.changeSessionId();
        assertThat(repository.findById(newId)).isNull();
        assertThat(repository.findById(third).<String>getAttribute("kept")).isEqualTo("yes");
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void changeSessionIdOfADeletedSessionFails(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        UsherSpringSession s = repository.createSession();
        repository.deleteById(s.getId());
        assertThatThrownBy(s::changeSessionId).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("its id cannot change");
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void ofTwoCopiesOnlyTheFirstToChangeTheIdWinsAndTheOtherWritesNothing(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        UsherSpringSession created = repository.createSession();
        String original = created.getId();
        UsherSpringSession copy1 = repository.findById(original);
        UsherSpringSession copy2 = repository.findById(original);
        copy1.setAttribute("a", "1");
        String moved = copy1.changeSessionId();
        repository.save(copy1);
        repository.save(copy1); // saving twice changes nothing

        copy2.setAttribute("b", "2");
        assertThatThrownBy(copy2::changeSessionId).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> repository.save(copy2)).isInstanceOf(IllegalStateException.class);
        assertThat(repository.findById(original)).isNull();
        assertThat(repository.findById(moved).getAttributeNames()).containsExactly("a");
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void idleSessionExpiresAndIsAnnouncedOnceBySweep(Backend backend) {
        Instance instance = start(backend);
        UsherSessionRepository repository = instance.repository();
        UsherSpringSession s = repository.createSession();
        s.setAttribute("x", "y");
        repository.save(s);
        UsherSpringSession loaded = repository.findById(s.getId());

        instances.clock.advance(Instances.IDLE.minusSeconds(1));
        assertThat(loaded.isExpired()).isFalse();
        instances.clock.advance(Duration.ofSeconds(1));
        assertThat(loaded.isExpired()).isTrue();
        assertThat(repository.findById(s.getId())).isNull();

        assertThat(instance.manager().sweep()).isEqualTo(1);
        assertThat(instance.manager().sweep()).isZero();
        assertThat(instance.eventsOf(SessionExpiredEvent.class)).singleElement().satisfies(e -> {
            assertThat(e.getSessionId()).isEqualTo(s.getId());
            assertThat(e.<UsherSpringSession>getSession().<String>getAttribute("x")).isEqualTo("y");
        });
        assertThat(instance.eventsOf(SessionDeletedEvent.class)).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void absoluteTimeoutEndsASessionInConstantUse(Backend backend) {
        instances = new Instances(backend, dir);
        Instance instance = instances.start(m -> m.absoluteTimeout(Duration.ofHours(1)), r -> r);
        UsherSessionRepository repository = instance.repository();
        UsherSpringSession s = repository.createSession();
        assertThat(s.absoluteExpiry()).isEqualTo(s.getCreationTime().plus(Duration.ofHours(1)));
        for (int minutes = 0; minutes < 55; minutes += 5) {
            instances.clock.advance(Duration.ofMinutes(5));
            assertThat(repository.findById(s.getId())).as("after %s minutes", minutes + 5).isNotNull();
        }
        UsherSpringSession last = repository.findById(s.getId());
        instances.clock.advance(Duration.ofMinutes(5));
        assertThat(last.isExpired()).isTrue();
        assertThat(repository.findById(s.getId())).isNull();
        assertThat(instance.manager().sweep()).isEqualTo(1);
        assertThat(instance.eventsOf(SessionExpiredEvent.class)).hasSize(1);
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void findByIdRecordsTheAccessSoTheIdleTimeoutSlides(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        UsherSpringSession s = repository.createSession();
        Instant created = s.getCreationTime();
        instances.clock.advance(Duration.ofMinutes(20));
        assertThat(repository.findById(s.getId()).getLastAccessedTime()).isEqualTo(created.plus(Duration.ofMinutes(20)));
        instances.clock.advance(Duration.ofMinutes(20));
        UsherSpringSession found = repository.findById(s.getId());
        assertThat(found).as("40 minutes after creation, 20 after the last access").isNotNull();
        assertThat(found.getLastAccessedTime()).isEqualTo(created.plus(Duration.ofMinutes(40)));

        // Spring Session's filter sets it on every request; it stays in the object, Usher records accesses itself.
        Instant later = instances.clock.instant().plusSeconds(5);
        found.setLastAccessedTime(later);
        assertThat(found.getLastAccessedTime()).isEqualTo(later);
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void maxInactiveIntervalIsTheSessionsOwnIdleTimeoutOnceSaved(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        UsherSessionRepository other = instances.start().repository();
        UsherSpringSession s = repository.createSession();
        assertThat(s.getMaxInactiveInterval()).isEqualTo(Instances.IDLE);
        // The Servlet API's "never expires" (HttpSession.setMaxInactiveInterval(-1)) and zero are refused.
        assertThatThrownBy(() -> s.setMaxInactiveInterval(Duration.ofSeconds(-1)))
                .isInstanceOfSatisfying(MaxInactiveIntervalException.class,
                        e -> assertThat(e.requested()).isEqualTo(Duration.ofSeconds(-1)))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("maxInactiveInterval must be positive but was PT-1S");
        assertThatThrownBy(() -> s.setMaxInactiveInterval(Duration.ZERO)).isInstanceOf(MaxInactiveIntervalException.class);
        assertThat(s.getMaxInactiveInterval()).as("nothing changed").isEqualTo(Instances.IDLE);
        // Spring Session's own repository tests shorten it to expire a session: it is stored with the session.
        Duration shorter = Duration.ofMinutes(1);
        s.setMaxInactiveInterval(shorter);
        assertThat(s.getMaxInactiveInterval()).isEqualTo(shorter);
        repository.save(s);
        UsherSpringSession found = repository.findById(s.getId());
        assertThat(found.getMaxInactiveInterval()).isEqualTo(shorter);
        assertThat(other.findById(s.getId()).getMaxInactiveInterval()).as("seen by another instance").isEqualTo(shorter);
        instances.clock.advance(shorter.plusSeconds(1));
        assertThat(found.isExpired()).isTrue();
        assertThat(repository.findById(s.getId())).as("expired in the store by its own idle timeout").isNull();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void principalNameAttributeLogsTheSessionInAndIndexesIt(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        UsherSpringSession s = repository.createSession();
        String anonymousId = s.getId();
        s.setAttribute(PRINCIPAL_NAME_INDEX_NAME, "alice");
        s.setAttribute("cart", "3 books");
        repository.save(s);
        assertThat(s.getId()).as("logging in moves the session to a fresh id").isNotEqualTo(anonymousId);
        assertThat(s.owner()).contains("alice");
        assertThat(repository.findById(anonymousId)).isNull();

        UsherSpringSession second = repository.createSession();
        second.setAttribute(PRINCIPAL_NAME_INDEX_NAME, "alice");
        repository.save(second);
        UsherSpringSession bobs = repository.createSession();
        bobs.setAttribute(PRINCIPAL_NAME_INDEX_NAME, "bob");
        repository.save(bobs);

        Map<String, UsherSpringSession> alices = repository.findByPrincipalName("alice");
        assertThat(alices).containsOnlyKeys(s.getId(), second.getId());
        assertThat(alices.get(s.getId()).<String>getAttribute("cart")).isEqualTo("3 books");
        assertThat(repository.findByIndexNameAndIndexValue(PRINCIPAL_NAME_INDEX_NAME, "bob")).containsOnlyKeys(bobs.getId());
        assertThat(repository.findByPrincipalName("carol")).isEmpty();
        assertThat(repository.findByIndexNameAndIndexValue("some.other.index", "alice")).isEmpty();

        // Saving again with the same principal moves nothing.
        UsherSpringSession again = repository.findById(s.getId());
        again.setAttribute("cart", "4 books");
        repository.save(again);
        assertThat(again.getId()).isEqualTo(s.getId());

        repository.deleteById(s.getId());
        assertThat(repository.findByPrincipalName("alice")).containsOnlyKeys(second.getId());
        instances.clock.advance(Instances.IDLE);
        assertThat(repository.findByPrincipalName("alice")).as("expired sessions are not listed").isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aChangedPrincipalMovesTheOwnerButARemovedOneLeavesItUntilTheSessionEnds(Backend backend) {
        UsherSessionRepository repository = start(backend).repository();
        UsherSpringSession s = repository.createSession();
        s.setAttribute(PRINCIPAL_NAME_INDEX_NAME, "alice");
        repository.save(s);
        s.setAttribute(PRINCIPAL_NAME_INDEX_NAME, "bob");
        repository.save(s);
        assertThat(repository.findByPrincipalName("alice")).isEmpty();
        assertThat(repository.findByPrincipalName("bob")).containsOnlyKeys(s.getId());

        // Usher has no "log out but keep the session": the owner stays until the session ends (see README).
        s.removeAttribute(PRINCIPAL_NAME_INDEX_NAME);
        repository.save(s);
        assertThat(repository.findByPrincipalName("bob")).containsOnlyKeys(s.getId());
        repository.deleteById(s.getId());
        assertThat(repository.findByPrincipalName("bob")).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aLoginTheOwnerLimitRejectsWritesNothing(Backend backend) {
        instances = new Instances(backend, dir);
        UsherSessionRepository repository = instances.start(
                m -> m.maxSessionsPerOwner(1, OwnerLimitPolicy.REJECT), r -> r).repository();
        UsherSpringSession first = repository.createSession();
        first.setAttribute(PRINCIPAL_NAME_INDEX_NAME, "alice");
        repository.save(first);

        UsherSpringSession second = repository.createSession();
        second.setAttribute("before", "login");
        repository.save(second);
        String anonymousId = second.getId();
        second.setAttribute(PRINCIPAL_NAME_INDEX_NAME, "alice");
        second.setAttribute("secret", "for alice only");
        assertThatThrownBy(() -> repository.save(second)).isInstanceOf(SessionLimitException.class)
                .hasMessage("owner 'alice' already has the maximum of 1 sessions");

        UsherSpringSession untouched = repository.findById(anonymousId);
        assertThat(untouched.owner()).isEmpty();
        assertThat(untouched.getAttributeNames()).containsExactly("before");
        assertThat(repository.findByPrincipalName("alice")).containsOnlyKeys(first.getId());
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void attributeValuesKeepTheirTypes(Backend backend) {
        Instance instance = start(backend);
        UsherSessionRepository repository = instance.repository();
        Map<String, Object> values = Map.ofEntries(
                Map.entry("string", "plain text, ünïcödé, 中文"),
                Map.entry("tilde", "~int:7 is a string"),
                Map.entry("empty", ""),
                Map.entry("bool", true),
                Map.entry("int", 42),
                Map.entry("long", Long.MIN_VALUE),
                Map.entry("double", 0.1 + 0.2),
                Map.entry("float", 1.5f),
                Map.entry("short", (short) -3),
                Map.entry("byte", (byte) 7),
                Map.entry("char", '~'),
                Map.entry("bigint", new BigInteger("123456789012345678901234567890")),
                Map.entry("decimal", new BigDecimal("-1.2300")),
                Map.entry("uuid", UUID.randomUUID()),
                Map.entry("instant", Instant.parse("2026-01-02T03:04:05.123456789Z")));
        UsherSpringSession s = repository.createSession();
        values.forEach(s::setAttribute);
        repository.save(s);
        UsherSpringSession found = repository.findById(s.getId());
        values.forEach((name, value) -> assertThat(found.<Object>getAttribute(name)).as(name).isEqualTo(value));

        // Strings are stored as they are, so Usher's own API reads what Spring code wrote.
        Session raw = instance.manager().find(s.getId()).orElseThrow();
        assertThat(raw.attribute("string")).contains("plain text, ünïcödé, 中文");
        assertThat(raw.attribute("int")).contains("~int:42");
    }

    @ParameterizedTest
    @EnumSource(Backend.class)
    void attributeOverTheLimitFailsTheSaveAndWritesNothing(Backend backend) {
        instances = new Instances(backend, dir);
        UsherSessionRepository repository = instances.start(
                m -> m.attributeLimits(new AttributeLimits(128, 1024, 64 * 1024, 256)), r -> r).repository();
        UsherSpringSession s = repository.createSession();
        s.setAttribute("small", "ok");
        s.setAttribute("big", "x".repeat(1025));
        assertThatThrownBy(() -> repository.save(s)).isInstanceOf(SessionLimitException.class)
                .hasMessage("value of attribute 'big' is 1025 bytes, over the limit of 1024");
        assertThat(repository.findById(s.getId()).getAttributeNames()).isEmpty();
    }
}
