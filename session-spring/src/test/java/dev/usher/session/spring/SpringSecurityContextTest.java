package dev.usher.session.spring;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.spring.Instances.Instance;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContext;
import org.springframework.security.core.context.SecurityContextImpl;
import org.springframework.security.core.userdetails.User;

/**
 * What a Spring Security application keeps in its session, through the README's Java serialization
 * allow-list: the principal is resolved from the stored {@code SecurityContext}, as Spring Session's own
 * repositories do, and becomes the Usher session's owner.
 */
@Tag("server")
class SpringSecurityContextTest {
    static final String SECURITY_CONTEXT = "SPRING_SECURITY_CONTEXT";
    static final String README_ALLOW_LIST = "org.springframework.security.**;java.util.*;java.lang.*;!*";

    @TempDir
    Path dir;
    private Instances instances;

    @AfterEach
    void close() {
        if (instances != null) {
            instances.close();
        }
    }

    private static SecurityContext loggedIn(String name) {
        User user = new User(name, "{noop}secret", List.of(new SimpleGrantedAuthority("ROLE_USER")));
        User withoutPassword = new User(user.getUsername(), "", user.getAuthorities());
        return new SecurityContextImpl(UsernamePasswordAuthenticationToken.authenticated(withoutPassword, null,
                withoutPassword.getAuthorities()));
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"SQLITE", "POSTGRESQL", "REDIS"})
    void theSecurityContextsPrincipalBecomesTheOwnerOnEveryInstance(Backend backend) {
        instances = new Instances(backend, dir);
        Instance one = instances.start(m -> m,
                r -> r.attributeCodec(AttributeCodec.javaSerialization(README_ALLOW_LIST)));
        Instance two = instances.start(m -> m,
                r -> r.attributeCodec(AttributeCodec.javaSerialization(README_ALLOW_LIST)));

        UsherSpringSession s = one.repository().createSession();
        String anonymous = s.getId();
        s.setAttribute(SECURITY_CONTEXT, loggedIn("alice"));
        one.repository().save(s);

        assertThat(s.getId()).isNotEqualTo(anonymous);
        assertThat(s.owner()).contains("alice");
        UsherSpringSession onTwo = two.repository().findByPrincipalName("alice").get(s.getId());
        SecurityContext read = onTwo.getAttribute(SECURITY_CONTEXT);
        assertThat(read.getAuthentication().getName()).isEqualTo("alice");
        assertThat(read.getAuthentication().getAuthorities()).extracting(Object::toString).containsExactly("ROLE_USER");
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = "MEMORY")
    void withoutTheOptInASecurityContextIsRefusedAtOnce(Backend backend) {
        instances = new Instances(backend, dir);
        UsherSpringSession s = instances.start().repository().createSession();
        assertThatThrownBy(() -> s.setAttribute(SECURITY_CONTEXT, loggedIn("alice")))
                .isInstanceOf(AttributeEncodingException.class)
                .hasMessageStartingWith("attribute 'SPRING_SECURITY_CONTEXT' holds a " + SecurityContextImpl.class.getName());
    }
}
