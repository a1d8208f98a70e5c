package dev.usher.session.spring;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.NotSerializableException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Base64;

/**
 * {@link AttributeCodec#javaSerialization}: base64 of the serialized bytes, read back through an
 * {@link ObjectInputFilter} built from an allow-list that must reject everything it does not name.
 */
final class JavaSerializationCodec implements AttributeCodec {
    private final String allowList;
    private final ObjectInputFilter patterns;
    private final ClassLoader classLoader;

    JavaSerializationCodec(String allowList, ClassLoader classLoader) {
        String trimmed = allowList.strip();
        while (trimmed.endsWith(";")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1).strip();
        }
        if (trimmed.isEmpty() || !trimmed.endsWith("!*")) {
            throw new IllegalArgumentException("javaSerialization allowList must end with \"!*\" (reject every "
                    + "class not listed) but was \"" + allowList + "\"");
        }
        this.patterns = ObjectInputFilter.Config.createFilter(trimmed);
        this.allowList = trimmed;
        this.classLoader = classLoader;
    }

    /** The allow-list, refusing also what it leaves undecided, and noting the first class it refused. */
    private ObjectInputFilter filter(String[] refused) {
        return info -> {
            ObjectInputFilter.Status status = patterns.checkInput(info);
            Class<?> type = info.serialClass();
            if (status == ObjectInputFilter.Status.UNDECIDED && type != null && !leafComponent(type).isPrimitive()) {
                status = ObjectInputFilter.Status.REJECTED;
            }
            if (status == ObjectInputFilter.Status.REJECTED && refused[0] == null) {
                refused[0] = type == null ? "a graph over the allow-list's limits" : type.getName();
            }
            return status;
        };
    }

    private static Class<?> leafComponent(Class<?> type) {
        Class<?> c = type;
        while (c.isArray()) {
            c = c.getComponentType();
        }
        return c;
    }

    @Override
    public String tag() {
        return "java";
    }

    @Override
    public boolean accepts(Object value) {
        return value instanceof Serializable;
    }

    @Override
    public String encode(Object value) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        } catch (NotSerializableException e) {
            throw new IllegalArgumentException("a " + value.getClass().getName() + " holds a field of the "
                    + "non-serializable " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    @Override
    public Object decode(String encoded) {
        byte[] bytes = Base64.getDecoder().decode(encoded);
        String[] refused = new String[1];
        try (ObjectInputStream in = new LoaderObjectInputStream(new ByteArrayInputStream(bytes), classLoader)) {
            in.setObjectInputFilter(filter(refused));
            return in.readObject();
        } catch (IOException e) {
            if (refused[0] != null) {
                throw new IllegalArgumentException("Java deserialization refused " + refused[0]
                        + ", which allowList \"" + allowList + "\" does not allow", e);
            }
            throw new IllegalArgumentException("Java deserialization failed: " + e, e);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("class " + e.getMessage() + " is not on the class path", e);
        }
    }

    @Override
    public String toString() {
        return "AttributeCodec.javaSerialization(\"" + allowList + "\")";
    }

    private static final class LoaderObjectInputStream extends ObjectInputStream {
        private final ClassLoader loader;

        LoaderObjectInputStream(InputStream in, ClassLoader loader) throws IOException {
            super(in);
            this.loader = loader;
        }

        @Override
        protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
            try {
                return Class.forName(desc.getName(), false, loader);
            } catch (ClassNotFoundException e) {
                return super.resolveClass(desc);
            }
        }
    }
}
