package dev.usher.gate.workspace;

import dev.usher.session.Session;
import java.util.Map;

/**
 * A session's recorded workspace: the directory name and the token that tells this directory from a later
 * one of the same name, kept in the session's attributes {@value WorkspaceAllocator#NAME_ATTRIBUTE} and
 * {@value WorkspaceAllocator#TOKEN_ATTRIBUTE}. Immutable.
 */
record WorkspaceMapping(String name, String token) {

    /** The session's mapping, or null when it records none (or only half of one). */
    static WorkspaceMapping of(Session s) {
        Map<String, String> attributes = s.attributes();
        String name = attributes.get(WorkspaceAllocator.NAME_ATTRIBUTE);
        String token = attributes.get(WorkspaceAllocator.TOKEN_ATTRIBUTE);
        return name != null && token != null ? new WorkspaceMapping(name, token) : null;
    }

    /** {@code s} recording this mapping. */
    Session applyTo(Session s) {
        return s.withAttribute(WorkspaceAllocator.NAME_ATTRIBUTE, name).withAttribute(WorkspaceAllocator.TOKEN_ATTRIBUTE, token);
    }
}
